"""/members/me/edit/: the member edits their public profile and photo."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from members.models import Member
from members.services import member_update_profile
from tests.factories import image_bytes, image_upload

URL = reverse("members:edit")


def _post(client, **overrides):
    data = {
        "display_name": "Alice Martin",
        "bio": "I fix bikes.",
        "neighbourhood": "Les Fins",
        "languages": "French, English",
    }
    data.update(overrides)
    return client.post(URL, data)


def _stored_files(settings) -> list:
    folder = settings.MEDIA_ROOT / "avatars"
    return sorted(folder.iterdir()) if folder.exists() else []


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (900, 600), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (45.0, 53.0, 57.0)}  # GPS info
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _upload(name: str, content: bytes, content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]


def test_it_shows_the_form_with_the_current_values(member_client, member):
    response = member_client.get(URL)
    assert response.status_code == 200
    assert b'value="Alice"' in response.content
    assert b'enctype="multipart/form-data"' in response.content
    assert b'<label for="id_display_name">' in response.content


def test_it_saves_the_profile(member_client, member):
    response = _post(member_client, languages="French,  english,, French ")
    assert response.status_code == 302
    assert response["Location"] == reverse("members:profile", args=[member.pk])
    member.refresh_from_db()
    assert member.display_name == "Alice Martin"
    assert member.bio == "I fix bikes."
    assert member.neighbourhood == "Les Fins"
    assert member.languages == "French, english"


def test_it_requires_a_display_name(member_client, member):
    response = _post(member_client, display_name="   ")
    assert response.status_code == 200
    assert response.context["form"].errors["display_name"]
    member.refresh_from_db()
    assert member.display_name == "Alice"
    assert member.bio == ""


def test_it_refuses_a_bio_that_is_too_long(member_client, member):
    response = _post(member_client, bio="x" * 601)
    assert response.context["form"].errors["bio"]
    member.refresh_from_db()
    assert member.bio == ""


def test_it_stores_the_avatar_as_webp_without_metadata(member_client, member, settings):
    original = _jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif()  # the test image does carry EXIF
    response = member_client.post(URL, {
        "display_name": "Alice", "bio": "", "neighbourhood": "", "languages": "",
        "avatar": _upload("me.jpg", original),
    })
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.avatar.name.endswith(".webp")
    assert "me" not in member.avatar.name.split("/")[-1]
    for field in (member.avatar, member.avatar_thumbnail):
        with field.open("rb") as stored:
            data = stored.read()
        image = Image.open(io.BytesIO(data))
        assert image.format == "WEBP"
        assert not image.getexif()
        assert "exif" not in image.info
        assert b"SpyCam" not in data
    thumb = Image.open(member.avatar_thumbnail.path)
    assert max(thumb.size) <= 480
    assert len(_stored_files(settings)) == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jpg", b"", "The submitted file is empty."),
        ("notes.jpg", b"Just some text pretending to be a photo.\n" * 20, "not a JPEG, PNG or WebP"),
        ("cut.jpg", image_bytes("JPEG", size=(400, 300))[:600], "damaged or incomplete"),
    ],
    ids=["empty-file", "text-renamed-jpg", "truncated-jpeg"],
)
def test_it_refuses_a_bad_avatar_and_saves_nothing(member_client, member, settings, name, content, message):
    response = member_client.post(URL, {
        "display_name": "Changed", "bio": "Changed too", "neighbourhood": "", "languages": "",
        "avatar": _upload(name, content),
    })
    assert response.status_code == 200
    errors = response.context["form"].errors["avatar"]
    assert any(message in error for error in errors)
    assert message.encode() in response.content
    member.refresh_from_db()
    assert member.display_name == "Alice"
    assert member.bio == ""
    assert not member.avatar
    assert _stored_files(settings) == []


def test_a_new_avatar_replaces_the_old_files(member_client, member, settings, django_capture_on_commit_callbacks):
    member_update_profile(member=member, display_name="Alice", bio="", neighbourhood="",
                          languages="", avatar=image_upload())
    member.refresh_from_db()
    old = {member.avatar.name, member.avatar_thumbnail.name}
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(URL, {
            "display_name": "Alice", "bio": "", "neighbourhood": "", "languages": "",
            "avatar": image_upload("new.png", fmt="PNG"),
        })
    assert response.status_code == 302
    member.refresh_from_db()
    names = {path.name for path in _stored_files(settings)}
    assert names == {member.avatar.name.split("/")[-1], member.avatar_thumbnail.name.split("/")[-1]}
    assert not names & {name.split("/")[-1] for name in old}


def test_it_removes_the_avatar(member_client, member, settings, django_capture_on_commit_callbacks):
    member_update_profile(member=member, display_name="Alice", bio="", neighbourhood="",
                          languages="", avatar=image_upload())
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(member_client, remove_avatar="on")
    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.avatar
    assert not member.avatar_thumbnail
    assert _stored_files(settings) == []


def test_it_refuses_a_new_avatar_and_removal_together(member_client, member):
    response = member_client.post(URL, {
        "display_name": "Alice", "bio": "", "neighbourhood": "", "languages": "",
        "avatar": image_upload(), "remove_avatar": "on",
    })
    assert response.status_code == 200
    assert response.context["form"].errors["remove_avatar"]
    member.refresh_from_db()
    assert not member.avatar


def test_the_service_refuses_a_bad_image_and_keeps_the_old_one(member, settings):
    member_update_profile(member=member, display_name="Alice", bio="", neighbourhood="",
                          languages="", avatar=image_upload())
    member.refresh_from_db()
    before = member.avatar.name
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        member_update_profile(member=member, display_name="Eve", bio="", neighbourhood="",
                              languages="", avatar=_upload("x.jpg", b"GIF89a nope"))
    assert "avatar" in error.value.message_dict
    fresh = Member.objects.get(pk=member.pk)
    assert fresh.display_name == "Alice"
    assert fresh.avatar.name == before
    assert len(_stored_files(settings)) == 2


def test_it_only_edits_the_logged_in_members_profile(member_client, member, other_member):
    _post(member_client, display_name="Mallory")
    other_member.refresh_from_db()
    assert other_member.display_name == "Bob"
    member.refresh_from_db()
    assert member.display_name == "Mallory"


def test_an_avatar_over_the_pixel_cap_is_refused_with_the_limit(member_client, member, settings):
    buffer = io.BytesIO()
    Image.new("1", (7000, 5000)).save(buffer, format="PNG")
    for language, message in [
        ("en", "This photo is 35 megapixels; photos up to 24 megapixels are accepted: "
               "resize it and try again."),
        ("fr", "Cette photo fait 35 mégapixels\u00a0; les photos jusqu’à 24 mégapixels sont "
               "acceptées\u00a0: réduisez-la et réessayez."),
    ]:
        response = member_client.post(URL, {
            "display_name": "Changed", "bio": "", "neighbourhood": "", "languages": "",
            "avatar": _upload("big.png", buffer.getvalue(), "image/png"),
        }, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert response.context["form"].errors["avatar"] == [message]
    member.refresh_from_db()
    assert member.display_name == "Alice" and not member.avatar
    assert _stored_files(settings) == []


def test_a_busy_process_refuses_the_avatar_and_saves_nothing(member_client, member, settings):
    from core import images

    settings.IMAGE_MAX_CONCURRENT = 1
    settings.IMAGE_WAIT_SECONDS = 0.2
    with images.processing_slot():
        response = _post(member_client, avatar=image_upload())
    assert response.context["form"].errors["avatar"] == [
        "Many photos are being processed right now. Please try again in a moment."
    ]
    member.refresh_from_db()
    assert member.display_name == "Alice" and not member.avatar
    assert _stored_files(settings) == []


@pytest.mark.django_db(transaction=True)
def test_the_avatar_is_decoded_before_the_profile_transaction(member, monkeypatch):
    """Waiting for an image slot or decoding must not hold the member's row lock."""
    from django.db import connection

    from core import images
    from members import services

    seen = []
    original = images.process_upload

    def spy(upload):
        seen.append(connection.in_atomic_block)
        return original(upload)

    monkeypatch.setattr(services, "process_upload", spy)
    member_update_profile(member=member, display_name="Alice", bio="", neighbourhood="",
                          languages="", avatar=image_upload())
    assert seen == [False]
    member.refresh_from_db()
    assert member.avatar
