"""core.images: what is accepted, what is refused, and what is stored."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from core.images import DISPLAY_MAX_SIDE, THUMBNAIL_MAX_SIDE, process_upload
from tests.factories import image_bytes

# --- image builders, shared with tests/listings/test_photos.py ------------------------


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noisy(size: tuple[int, int] = (400, 300)) -> Image.Image:
    """A photo-like image: noise does not compress, so cutting the file loses pixels."""
    return Image.effect_noise(size, 64).convert("RGB")


def jpeg_with_gps_and_orientation(size: tuple[int, int] = (300, 120)) -> bytes:
    """A landscape JPEG whose EXIF says 'rotate 90° clockwise to display' (6) and
    carries a GPS position and a camera make."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (45.0, 53.0, 57.12),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (6.0, 7.0, 45.84),
    }
    return encode(Image.new("RGB", size, (10, 200, 30)), "JPEG", exif=exif)


def bad_images() -> dict[str, tuple[bytes, str]]:
    """Files that must be refused, with a piece of the message a member reads."""
    return {
        "empty": (b"", "empty"),
        "text renamed .jpg": (b"Dear neighbour, this is not a photo.\n" * 20, "not a JPEG, PNG or WebP"),
        "gif renamed .jpg": (encode(Image.new("P", (40, 30)), "GIF"), "not a JPEG, PNG or WebP"),
        "bmp renamed .jpg": (encode(Image.new("RGB", (40, 30)), "BMP"), "not a JPEG, PNG or WebP"),
        "truncated jpeg": (encode(noisy(), "JPEG")[:4000], "damaged or incomplete"),
        "truncated png": (encode(noisy(), "PNG")[:4000], "damaged or incomplete"),
        # 400 megapixels declared in a file of a few KB: Pillow's bomb guard.
        "decompression bomb": (encode(Image.new("1", (20000, 20000)), "PNG"),
                               "far too many pixels; photos up to 24 megapixels"),
        # 49 megapixels: under Pillow's guard, over our 24 MP limit.
        "over 24 megapixels": (encode(Image.new("1", (7000, 7000)), "PNG"),
                               "This photo is 49 megapixels; photos up to 24 megapixels"),
    }


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def decoded(content) -> Image.Image:
    content.seek(0)
    image = Image.open(io.BytesIO(content.read()))
    image.load()
    return image


# --- tests -----------------------------------------------------------------------------


def test_it_strips_exif_and_gps_and_applies_the_orientation():
    original = Image.open(io.BytesIO(jpeg_with_gps_and_orientation()))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test image does carry GPS

    processed = process_upload(upload(jpeg_with_gps_and_orientation()))

    for stored in (processed.display, processed.thumbnail):
        image = decoded(stored)
        assert image.format == "WEBP"
        assert not image.getexif()
        assert "exif" not in image.info and "xmp" not in image.info
        assert image.width < image.height  # 300x120 landscape turned to portrait
    assert (processed.width, processed.height) == (120, 300)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_accepts_the_three_formats(fmt):
    processed = process_upload(upload(image_bytes(fmt, size=(80, 60))))
    assert decoded(processed.display).size == (80, 60)


def test_it_keeps_transparency_of_a_png():
    data = encode(Image.new("RGBA", (20, 20), (255, 0, 0, 0)), "PNG")
    assert decoded(process_upload(upload(data, "logo.png")).display).mode == "RGBA"


def test_it_stores_a_display_size_and_a_thumbnail():
    processed = process_upload(upload(image_bytes("JPEG", size=(3200, 1600))))
    assert max(decoded(processed.display).size) == DISPLAY_MAX_SIDE
    assert max(decoded(processed.thumbnail).size) == THUMBNAIL_MAX_SIDE
    assert (processed.width, processed.height) == (1600, 800)


def test_it_never_keeps_the_uploaded_name():
    processed = process_upload(upload(image_bytes(), "../../etc/passwd.jpg"))
    assert processed.display.name.endswith(".webp")
    assert "passwd" not in processed.display.name
    assert processed.thumbnail.name != processed.display.name


@pytest.mark.parametrize("kind", list(bad_images()))
def test_it_refuses_bad_files_with_a_clear_message(kind):
    data, message = bad_images()[kind]
    with pytest.raises(ValidationError) as error:
        process_upload(upload(data))
    assert message in " ".join(error.value.messages)


def test_it_refuses_a_file_over_the_size_limit(settings):
    settings.IMAGE_MAX_BYTES = 2000
    data = encode(noisy((200, 200)), "PNG")
    assert len(data) > 2000
    with pytest.raises(ValidationError) as error:
        process_upload(upload(data))
    assert error.value.code == "too_large"


def test_the_size_limit_is_ten_megabytes_and_twenty_four_megapixels(settings):
    assert settings.IMAGE_MAX_BYTES == 10 * 1024 * 1024
    assert settings.IMAGE_MAX_PIXELS == 24_000_000
    assert settings.IMAGE_MAX_PIXELS_WEBP == 9_000_000


def test_the_whole_file_is_decoded():
    data = encode(noisy(), "JPEG")
    assert process_upload(upload(data)).width == 400
    with pytest.raises(ValidationError) as error:
        process_upload(upload(data[: len(data) // 2]))
    assert error.value.code == "damaged"
