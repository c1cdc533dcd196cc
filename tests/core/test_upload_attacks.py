"""Uploads an attacker would try: each is refused with a clear message, or stored
re-encoded so that nothing of the original bytes survives."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import ExifTags, Image

from core.images import process_upload
from tests.core.test_images import decoded, encode, upload


def fits_file() -> bytes:
    """A minimal FITS image (astronomy format Pillow can read): 8-bit, 10×10."""
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8",
             "NAXIS   =                    2", "NAXIS1  =                   10",
             "NAXIS2  =                   10", "END"]
    header = "".join(card.ljust(80) for card in cards).ljust(2880).encode("ascii")
    return header + bytes(100).ljust(2880, b"\0")


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')


@pytest.mark.parametrize(("name", "data", "message"), [
    ("bomb.png", encode(Image.new("1", (20000, 20000)), "PNG"), "far too many pixels"),
    ("big.png", encode(Image.new("1", (9500, 9500)), "PNG"), "This photo is 90.3 megapixels"),
    ("drawing.svg", SVG, "not a JPEG, PNG or WebP"),
    ("scan.tiff", encode(Image.new("RGB", (20, 20)), "TIFF"), "not a JPEG, PNG or WebP"),
    ("sky.fits", fits_file(), "not a JPEG, PNG or WebP"),
    ("empty.jpg", b"", "empty"),
    ("notes.jpg", b"Shopping list: milk, eggs.\n" * 10, "not a JPEG, PNG or WebP"),
])
def test_dangerous_or_foreign_files_are_refused(name, data, message):
    with pytest.raises(ValidationError) as error:
        process_upload(upload(data, name))
    assert message in " ".join(error.value.messages)


def test_the_fits_sample_is_a_real_image_pillow_could_open():
    """So the refusal above comes from the allow-list, not from a broken sample."""
    assert Image.open(io.BytesIO(fits_file())).format == "FITS"


def test_html_appended_to_a_png_does_not_survive():
    payload = b"<html><script>alert('stored xss')</script></html>"
    data = encode(Image.new("RGB", (64, 48), (0, 120, 200)), "PNG") + payload
    processed = process_upload(upload(data, "cat.png"))
    for stored in (processed.display, processed.thumbnail):
        stored.seek(0)
        content = stored.read()
        assert b"<script>" not in content
        assert b"<html>" not in content
        assert decoded(stored).format == "WEBP"


def test_camera_serial_numbers_and_gps_are_not_stored():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456789"
    exif[ExifTags.Base.CameraOwnerName] = "Alice Martin"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N",
                                  ExifTags.GPS.GPSLatitude: (45.0, 53.0, 57.12)}
    data = encode(Image.new("RGB", (120, 90), (10, 200, 30)), "JPEG", exif=exif)
    processed = process_upload(upload(data))
    for stored in (processed.display, processed.thumbnail):
        stored.seek(0)
        content = stored.read()
        assert b"SN-123456789" not in content
        assert b"Alice Martin" not in content
        assert b"PhoneCo" not in content
        assert not decoded(stored).getexif()


# --- the per-member storage quota ---------------------------------------------------------


@pytest.mark.django_db
def test_photos_count_against_the_members_quota(settings):
    from listings import services
    from listings.models import Photo
    from tests.factories import ListingFactory, image_upload

    owner = ListingFactory().owner
    first, second = ListingFactory(owner=owner), ListingFactory(owner=owner)
    photo = services.photo_add(listing=first, by=owner, upload=image_upload())
    assert photo.stored_bytes == photo.image.size + photo.thumbnail.size > 0
    assert services.storage_used(owner) == photo.stored_bytes
    # Room for exactly one more photo of the same size, whichever listing it goes to.
    settings.MEMBER_STORAGE_QUOTA_BYTES = photo.stored_bytes * 2
    services.photo_add(listing=second, by=owner, upload=image_upload())
    with pytest.raises(ValidationError) as refused:
        services.photo_add(listing=second, by=owner, upload=image_upload())
    assert "MB Partage keeps for each member" in " ".join(refused.value.messages)
    assert Photo.objects.filter(listing__owner=owner).count() == 2
    # Another member's photos do not count against this one.
    other = ListingFactory()
    services.photo_add(listing=other, by=other.owner, upload=image_upload())


@pytest.mark.django_db
def test_media_is_served_with_nosniff(client, settings):
    from listings import services
    from tests.factories import ListingFactory, image_upload

    listing = ListingFactory()
    photo = services.photo_add(listing=listing, by=listing.owner, upload=image_upload())
    response = client.get(photo.image.url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/webp"
    assert "sandbox" in response["Content-Security-Policy"]
