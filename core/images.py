"""Accept an uploaded image only if it is what it claims to be, then re-encode it.

`process_upload` guarantees: the file is a JPEG, PNG or WebP that Pillow decodes fully;
it is at most IMAGE_MAX_BYTES and IMAGE_MAX_PIXELS (below Pillow's own bomb limit);
orientation is applied; and what is stored is a fresh WebP encoding with no metadata
(EXIF, GPS, XMP, ICC comments) under a generated name. Anything else raises
ValidationError with a message a member can act on.
"""

from __future__ import annotations

import contextlib
import io
import uuid
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
DISPLAY_MAX_SIDE = 1600
THUMBNAIL_MAX_SIDE = 480
WEBP_QUALITY = 82


@dataclass(frozen=True)
class ProcessedImage:
    display: ContentFile
    thumbnail: ContentFile
    width: int
    height: int


def _encode_webp(image: Image.Image, max_side: int, name: str) -> tuple[ContentFile, int, int]:
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    return ContentFile(buffer.getvalue(), name=name), copy.width, copy.height


def open_verified(data: bytes) -> Image.Image:
    """Decode the whole image or raise ValidationError; never trust the file name."""
    max_bytes = settings.IMAGE_MAX_BYTES
    max_pixels = settings.IMAGE_MAX_PIXELS
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")
    if len(data) > max_bytes:
        raise ValidationError(
            _("The image is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": round(len(data) / 1_048_576, 1), "limit": max_bytes // 1_048_576},
            code="too_large",
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns (and later refuses) on decompression bombs; treat its warning
            # as a refusal too, our own cap is stricter anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
            width, height = image.size
            if width * height > max_pixels:
                raise ValidationError(
                    _("The image has too many pixels (%(mp)s megapixels); "
                      "the limit is %(limit)s.")
                    % {"mp": round(width * height / 1e6, 1), "limit": max_pixels // 1_000_000},
                    code="too_many_pixels",
                )
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValidationError(
            _("The image has too many pixels to be processed safely."), code="bomb"
        ) from error
    except UnidentifiedImageError as error:
        raise ValidationError(
            _("This is not a JPEG, PNG or WebP image."), code="not_an_image"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ValidationError(
            _("The image is damaged or incomplete and could not be read."), code="damaged"
        ) from error
    return image


def process_upload(uploaded_file) -> ProcessedImage:
    uploaded_file.seek(0)
    # Read at most one byte past the cap: a huge upload is refused without holding it all.
    data = uploaded_file.read(settings.IMAGE_MAX_BYTES + 1)
    image = open_verified(data)
    # A broken orientation tag is not worth refusing the photo.
    with contextlib.suppress(Exception):
        image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA") or (
        image.mode == "P" and "transparency" in image.info
    )
    stem = uuid.uuid4().hex
    try:
        image = image.convert("RGBA" if has_alpha else "RGB")
        display, width, height = _encode_webp(image, DISPLAY_MAX_SIDE, f"{stem}.webp")
        thumbnail, _w, _h = _encode_webp(image, THUMBNAIL_MAX_SIDE, f"{stem}-thumb.webp")
    except (OSError, ValueError) as error:
        # A pixel format Pillow decodes but cannot convert: refuse it like a damaged file.
        raise ValidationError(
            _("The image is damaged or incomplete and could not be read."), code="damaged"
        ) from error
    return ProcessedImage(display=display, thumbnail=thumbnail, width=width, height=height)
