"""The photos page: uploads through the page, refusals, the limit of eight, deleting."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from core import images
from listings import services
from listings.models import Photo
from tests.core.test_images import bad_images, encode, jpeg_with_gps_and_orientation, upload
from tests.factories import ListingFactory, image_upload

pytestmark = pytest.mark.django_db


def photos_url(listing) -> str:
    return reverse("listings:photos", args=[listing.pk])


def delete_url(photo) -> str:
    return reverse("listings:photo-delete", args=[photo.listing_id, photo.pk])


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_page_offers_a_phone_friendly_upload(member_client, member):
    listing = ListingFactory(owner=member)
    html = member_client.get(photos_url(listing)).content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'accept="image/jpeg,image/png,image/webp"' in html
    assert '<label for="id_image">' in html and '<label for="id_alt_text">' in html


def test_an_upload_is_stored_without_exif_and_upright(member_client, member):
    listing = ListingFactory(owner=member)
    response = member_client.post(
        photos_url(listing),
        {"image": upload(jpeg_with_gps_and_orientation(), "IMG_0001.JPG"), "alt_text": "Red drill"},
    )
    assert response.status_code == 302 and response.url == photos_url(listing)
    photo = listing.photos.get()
    assert photo.alt_text == "Red drill"
    for field in (photo.image, photo.thumbnail):
        with Image.open(field.path) as stored:
            stored.load()
            assert stored.format == "WEBP"
            assert not stored.getexif()
            assert "exif" not in stored.info
            assert stored.height > stored.width  # orientation 6 applied
    assert "IMG_0001" not in photo.image.name
    page = member_client.get(photos_url(listing)).content.decode()
    assert photo.thumbnail.url in page and delete_url(photo) in page


@pytest.mark.parametrize("kind", list(bad_images()))
def test_a_bad_file_shows_an_error_and_stores_nothing(member_client, member, settings, kind):
    listing = ListingFactory(owner=member)
    data, message = bad_images()[kind]
    response = member_client.post(photos_url(listing), {"image": upload(data), "alt_text": "x"})
    assert response.status_code == 200
    errors = response.context["form"].errors["image"]
    assert message in " ".join(errors)
    assert 'class="errorlist' in response.content.decode()
    assert not Photo.objects.exists()
    assert media_files(settings) == []


def test_a_post_without_a_file_shows_an_error(member_client, member):
    listing = ListingFactory(owner=member)
    response = member_client.post(photos_url(listing), {"alt_text": "no file"})
    assert response.status_code == 200 and "image" in response.context["form"].errors
    assert not Photo.objects.exists()


def test_the_form_disappears_at_eight_photos_and_a_ninth_is_refused(member_client, member, settings):
    listing = ListingFactory(owner=member)
    for _ in range(7):
        services.photo_add(listing=listing, by=member, upload=image_upload())
    html = member_client.get(photos_url(listing)).content.decode()
    assert 'type="file"' in html
    member_client.post(photos_url(listing), {"image": image_upload()})
    assert listing.photos.count() == 8

    html = member_client.get(photos_url(listing)).content.decode()
    assert 'type="file"' not in html
    assert "the most photos allowed (8)" in html

    response = member_client.post(photos_url(listing), {"image": image_upload()})
    assert response.status_code == 200
    assert "A listing has at most 8 photos." in response.content.decode()
    assert listing.photos.count() == 8
    assert len(media_files(settings)) == 16


def test_the_owner_deletes_a_photo_and_its_files(member_client, member, django_capture_on_commit_callbacks):
    listing = ListingFactory(owner=member)
    photo = services.photo_add(listing=listing, by=member, upload=image_upload())
    files = [Path(photo.image.path), Path(photo.thumbnail.path)]
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(delete_url(photo))
    assert response.status_code == 302 and response.url == photos_url(listing)
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not any(path.exists() for path in files)


def test_another_member_cannot_delete_a_photo(member_client, other_member):
    listing = ListingFactory(owner=other_member)
    photo = services.photo_add(listing=listing, by=other_member, upload=image_upload())
    assert member_client.post(delete_url(photo)).status_code == 404
    assert Photo.objects.filter(pk=photo.pk).exists()


def test_a_photo_of_another_listing_is_not_found_through_mine(member_client, member, other_member):
    mine = ListingFactory(owner=member)
    theirs = services.photo_add(listing=ListingFactory(owner=other_member), by=other_member, upload=image_upload())
    wrong_pair = reverse("listings:photo-delete", args=[mine.pk, theirs.pk])
    assert member_client.post(wrong_pair).status_code == 404
    assert Photo.objects.filter(pk=theirs.pk).exists()


def test_anonymous_visitors_cannot_delete_a_photo(client, member):
    photo = services.photo_add(listing=ListingFactory(owner=member), by=member, upload=image_upload())
    response = client.post(delete_url(photo))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert Photo.objects.filter(pk=photo.pk).exists()


def test_another_member_cannot_upload(member_client, other_member, settings):
    listing = ListingFactory(owner=other_member)
    response = member_client.post(photos_url(listing), {"image": image_upload()})
    assert response.status_code == 404
    assert not Photo.objects.exists() and media_files(settings) == []


def test_a_photo_over_24_megapixels_is_refused_with_the_limit_in_english_and_french(
    member_client, member, settings,
):
    listing = ListingFactory(owner=member)
    data = encode(Image.new("L", (6324, 6324), 255), "PNG")  # the 155 KB PNG
    response = member_client.post(photos_url(listing), {"image": upload(data, "big.png")})
    assert response.status_code == 200
    assert response.context["form"].errors["image"] == [
        "This photo is 40 megapixels; photos up to 24 megapixels are accepted: "
        "resize it and try again."
    ]
    french = member_client.post(
        photos_url(listing), {"image": upload(data, "big.png")}, HTTP_ACCEPT_LANGUAGE="fr",
    ).content.decode()
    assert ("Cette photo fait 40 mégapixels\u00a0; les photos jusqu’à 24 mégapixels sont "
            "acceptées\u00a0: réduisez-la et réessayez.") in french
    assert not Photo.objects.exists() and media_files(settings) == []


def test_a_photo_of_24_megapixels_is_stored_at_the_usual_size(member_client, member):
    listing = ListingFactory(owner=member)
    data = encode(Image.new("RGB", (6000, 4000), (200, 80, 40)), "JPEG")
    response = member_client.post(photos_url(listing), {"image": upload(data)})
    assert response.status_code == 302
    photo = listing.photos.get()
    with Image.open(photo.image.path) as display, Image.open(photo.thumbnail.path) as thumb:
        assert (display.size, thumb.size) == ((1600, 1067), (480, 320))


def test_when_images_are_busy_the_page_asks_to_try_again_in_a_moment(
    member_client, member, settings,
):
    settings.IMAGE_MAX_CONCURRENT = 1
    settings.IMAGE_WAIT_SECONDS = 0.2
    listing = ListingFactory(owner=member)
    with images.processing_slot():  # another upload of this process holds the only slot
        response = member_client.post(photos_url(listing), {"image": image_upload()})
        french = member_client.post(
            photos_url(listing), {"image": image_upload()}, HTTP_ACCEPT_LANGUAGE="fr",
        ).content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors["image"] == [
        "Many photos are being processed right now. Please try again in a moment."
    ]
    assert "Beaucoup de photos sont en cours de traitement. Réessayez dans un instant." in french
    assert not Photo.objects.exists() and media_files(settings) == []
    assert member_client.post(photos_url(listing), {"image": image_upload()}).status_code == 302


# --- order, cover and a delete that asks first -------------------------------------


def move_url(photo) -> str:
    return reverse("listings:photo-move", args=[photo.listing_id, photo.pk])


@pytest.fixture
def three_photos(member):
    listing = ListingFactory(owner=member)
    return [services.photo_add(listing=listing, by=member, upload=image_upload(), alt_text=name)
            for name in ("A", "B", "C")]


def order(listing) -> list[str]:
    return list(listing.photos.order_by("position", "id").values_list("alt_text", flat=True))


def test_the_owner_chooses_the_cover_and_the_order(member_client, three_photos):
    a, b, c = three_photos
    listing = a.listing
    response = member_client.post(move_url(c), {"move": "first"})
    assert response.status_code == 302 and response.url == photos_url(listing)
    assert order(listing) == ["C", "A", "B"]
    assert listing.cover.alt_text == "C"  # what the cards and the page show first
    member_client.post(move_url(c), {"move": "later"})
    assert order(listing) == ["A", "C", "B"]
    member_client.post(move_url(b), {"move": "earlier"})
    assert order(listing) == ["A", "B", "C"]
    member_client.post(move_url(c), {"move": "later"})  # already last: nothing moves
    member_client.post(move_url(a), {"move": "sideways"})  # not a move: refused
    assert order(listing) == ["A", "B", "C"]
    assert list(listing.photos.order_by("position").values_list("position", flat=True)) == [1, 2, 3]
    page = member_client.get(photos_url(listing)).content.decode()
    assert "Cover" in page and "Make it the cover" in page


def test_others_cannot_reorder_photos(client, other_member, three_photos):
    client.force_login(other_member)
    assert client.post(move_url(three_photos[2]), {"move": "first"}).status_code == 404
    assert order(three_photos[0].listing) == ["A", "B", "C"]


def test_a_delete_asks_first_and_keeping_it_deletes_nothing(member_client, three_photos):
    photo = three_photos[1]
    page = member_client.get(delete_url(photo))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delete this photo?" in html and "Keep it" in html
    assert Photo.objects.filter(pk=photo.pk).exists()  # asking deletes nothing
    photos_page = member_client.get(photos_url(photo.listing)).content.decode()
    assert f'href="{delete_url(photo)}"' in photos_page  # a link to the question, not a POST


# --- several at once ------------------------------------------------------------------


def test_several_photos_at_once_are_added_in_order(member_client, member):
    listing = ListingFactory(owner=member)
    files = [image_upload(name=f"{n}.jpg") for n in ("one", "two", "three")]
    response = member_client.post(photos_url(listing), {"image": files}, follow=True)
    assert "3 photos are added." in response.content.decode()
    assert listing.photos.count() == 3
    assert [p.position for p in listing.photos.order_by("position")] == [1, 2, 3]
    page = member_client.get(photos_url(listing)).content.decode()
    assert 'name="image"' in page and "multiple" in page.split('name="image"')[1].split(">")[0]


def test_a_bad_file_among_several_is_named_and_the_others_are_kept(member_client, member):
    listing = ListingFactory(owner=member)
    bad = upload(b"not an image at all", "notes.jpg")
    response = member_client.post(
        photos_url(listing), {"image": [image_upload(name="good.jpg"), bad]}, follow=True)
    html = response.content.decode()
    assert "The photo is added." in html and "notes.jpg:" in html
    assert listing.photos.count() == 1


def test_more_than_the_cap_of_photos_at_once_is_refused(member_client, member, settings):
    settings.PHOTOS_PER_UPLOAD = 2
    listing = ListingFactory(owner=member)
    response = member_client.post(
        photos_url(listing), {"image": [image_upload() for _ in range(3)]})
    assert "Choose at most 2 photos at once." in response.content.decode()
    assert not listing.photos.exists()


def test_several_at_once_stop_at_the_listing_limit(member_client, member, settings):
    settings.LISTING_MAX_PHOTOS = 2
    listing = ListingFactory(owner=member)
    files = [image_upload(name=f"{n}.jpg") for n in ("a", "b", "c")]
    response = member_client.post(photos_url(listing), {"image": files}, follow=True)
    assert listing.photos.count() == 2
    assert "c.jpg: A listing has at most 2 photos." in response.content.decode()
