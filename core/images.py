"""Accept an uploaded image only if it is what it claims to be, then re-encode it.

`process_upload` guarantees: the file is a JPEG, PNG or WebP that Pillow decodes fully;
it is at most IMAGE_MAX_BYTES and IMAGE_MAX_PIXELS (a WebP: IMAGE_MAX_PIXELS_WEBP),
refused from its header alone before a pixel is decoded, as is a PNG whose header
declares more pixels than its data can hold; orientation is applied; and what is stored
is a fresh WebP encoding with no metadata (EXIF, GPS, XMP, ICC comments) under a
generated name, of the same sizes as always (Pillow's `thumbnail` rounding, at most
DISPLAY_MAX_SIDE and THUMBNAIL_MAX_SIDE). Anything else raises ValidationError with a
message a member can act on.

What it costs is bounded too: a JPEG is decoded at the smallest scale that still covers
the display size (libjpeg's DCT scaling, `Image.draft`); a PNG or WebP cannot be decoded
smaller, but no full-size copy is made beside the decoded one (an image whose mode must
change is converted and shrunk a band of rows at a time); only the first frame of an
animated or multi-picture file is ever decoded; at most IMAGE_MAX_CONCURRENT images are
processed at once in a process (a request that waits IMAGE_WAIT_SECONDS is refused with
"try again in a moment"); and the freed buffers are handed back to the system afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import math
import struct
import threading
import uuid
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, PngImagePlugin, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
DISPLAY_MAX_SIDE = 1600
THUMBNAIL_MAX_SIDE = 480
WEBP_QUALITY = 82
# Rows converted at once when an image must change mode (palette, grey, CMYK...):
# about 2 megapixels, 8 MB in RGB, instead of a full-size converted copy.
BAND_PIXELS = 2_000_000
# Pillow's own two-step resize, as `thumbnail` (what the stored sizes always came from)
# uses it: reduce by an integer factor, then resample by at least this much.
REDUCING_GAP = 2.0
# Deflate never compresses better than 1032:1, so a PNG whose compressed pixel data is
# smaller than its declared pixels / 1032 lies about its size or is cut short.
DEFLATE_MAX_RATIO = 1032

# Text and ICC chunks of a PNG are inflated when its header is read, before any pixel:
# Pillow allows 64 MB of them by default, which a 10 MB file can claim.
PngImagePlugin.MAX_TEXT_CHUNK = 1024 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 4 * 1024 * 1024
# Our own cap (IMAGE_MAX_PIXELS, far below Pillow's warning threshold) is checked right
# after the header is read, so Pillow's warning adds nothing; Pillow still raises its
# DecompressionBombError beyond twice its threshold. (A `catch_warnings()` block around
# each open would not be safe with several threads.)
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# EXIF orientation -> the transposition that shows the image upright
# (the table of ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = {5, 6, 7, 8}


@dataclass(frozen=True)
class ProcessedImage:
    display: ContentFile
    thumbnail: ContentFile
    width: int
    height: int


# --- limits --------------------------------------------------------------------------


def _megapixels(pixels: int, *, up: bool = False) -> str:
    # A photo's figure is rounded up and a limit's down, so that a photo just over the
    # limit never reads "24 megapixels; photos up to 24 megapixels are accepted".
    tenths = math.ceil(pixels / 100_000) if up else pixels // 100_000
    value = tenths / 10
    return number_format(int(value) if tenths % 10 == 0 else value)


def _too_many_pixels(pixels: int, *, webp: bool = False) -> ValidationError:
    if webp:
        return ValidationError(
            _("This WebP image is %(mp)s megapixels; WebP images up to %(limit)s "
              "megapixels are accepted (JPEG and PNG photos up to %(photo_limit)s): "
              "resize it, or send it as a JPEG, and try again.")
            % {"mp": _megapixels(pixels, up=True),
               "limit": _megapixels(settings.IMAGE_MAX_PIXELS_WEBP),
               "photo_limit": _megapixels(settings.IMAGE_MAX_PIXELS)},
            code="too_many_pixels",
        )
    return ValidationError(
        _("This photo is %(mp)s megapixels; photos up to %(limit)s megapixels are "
          "accepted: resize it and try again.")
        % {"mp": _megapixels(pixels, up=True),
           "limit": _megapixels(settings.IMAGE_MAX_PIXELS)},
        code="too_many_pixels",
    )


def _check_pixels(size: tuple[int, int], *, webp: bool) -> None:
    pixels = size[0] * size[1]
    limit = settings.IMAGE_MAX_PIXELS
    if webp:
        limit = min(limit, settings.IMAGE_MAX_PIXELS_WEBP)
    if pixels > limit:
        raise _too_many_pixels(pixels, webp=webp and pixels <= settings.IMAGE_MAX_PIXELS)


def _damaged() -> ValidationError:
    return ValidationError(
        _("The image is damaged or incomplete and could not be read."), code="damaged"
    )


class _Slots:
    """A counting semaphore whose size is read from the settings at each acquire, so a
    test (or a reload) changes it without rebuilding anything."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._busy = 0

    @contextlib.contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        with self._condition:
            free = self._condition.wait_for(
                lambda: self._busy < max(1, settings.IMAGE_MAX_CONCURRENT), timeout
            )
            if not free:
                raise ValidationError(
                    _("Many photos are being processed right now. Please try again in "
                      "a moment."),
                    code="busy",
                )
            self._busy += 1
        try:
            yield
        finally:
            with self._condition:
                self._busy -= 1
                self._condition.notify()


_slots = _Slots()


def processing_slot() -> contextlib.AbstractContextManager[None]:
    """One of this process's IMAGE_MAX_CONCURRENT image slots, waited for at most
    IMAGE_WAIT_SECONDS; raises ValidationError (code "busy") when none frees up."""
    return _slots.hold(settings.IMAGE_WAIT_SECONDS)


def _release_memory() -> None:
    # Whatever smaller freed chunks glibc still keeps for reuse go back too.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _map_big_blocks() -> None:
    """Make glibc give every allocation of 1 MB or more its own mapping, unmapped as
    soon as it is freed. By default its threshold grows to the size of the last freed
    block (up to 32 MB): Pillow's 16 MB image blocks then come from the heap and each
    thread's arena, and a worker kept ~750 MB after four parallel uploads
    (bench/image_memory.py). Elsewhere than glibc (musl, macOS) nothing changes."""
    m_mmap_threshold = -3  # malloc.h
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(m_mmap_threshold, 1024 * 1024)


_map_big_blocks()


# --- header checks -------------------------------------------------------------------


def _png_declares_more_than_it_holds(data: bytes) -> bool:
    """True when the PNG's compressed pixel data (IDAT) is too short for its header's
    width x height, whatever the compression: refused before memory is reserved."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    position, idat_bytes, row_bytes, height = 8, 0, 0, 0
    bits_per_pixel = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # samples per pixel, by colour type
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"IHDR" and length >= 13:
            width, height, depth, colour = struct.unpack(
                ">IIBB", data[position + 8:position + 18]
            )
            samples = bits_per_pixel.get(colour, 1)
            row_bytes = 1 + math.ceil(width * samples * depth / 8)
        elif kind == b"IDAT":
            idat_bytes += length
        elif kind == b"IEND":
            break
        position += 12 + length
    return row_bytes * height > (idat_bytes + 1) * DEFLATE_MAX_RATIO


def _webp_declared_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size in a WebP's first chunk (VP8X, VP8L or VP8), None if not WebP."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return (1 + int.from_bytes(data[24:27], "little"),
                1 + int.from_bytes(data[27:30], "little"))
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF)
    return None


def read_header(data: bytes) -> Image.Image:
    """Open the image without decoding its pixels, or raise ValidationError: empty, too
    large, not an allowed format, more pixels than IMAGE_MAX_PIXELS (WebP:
    IMAGE_MAX_PIXELS_WEBP), or a header whose size the data cannot hold."""
    max_bytes = settings.IMAGE_MAX_BYTES
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")
    if len(data) > max_bytes:
        raise ValidationError(
            _("The image is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": round(len(data) / 1_048_576, 1), "limit": max_bytes // 1_048_576},
            code="too_large",
        )
    # libwebp reserves its canvases (16 bytes a pixel with Pillow's copies, against 4
    # for a PNG) as soon as the file is opened: its size is checked before that.
    webp_size = _webp_declared_size(data)
    if webp_size is not None:
        _check_pixels(webp_size, webp=True)
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except Image.DecompressionBombError as error:
        raise ValidationError(
            _("This photo has far too many pixels; photos up to %(limit)s megapixels are "
              "accepted: resize it and try again.")
            % {"limit": _megapixels(settings.IMAGE_MAX_PIXELS)},
            code="bomb",
        ) from error
    except UnidentifiedImageError as error:
        raise ValidationError(
            _("This is not a JPEG, PNG or WebP image."), code="not_an_image"
        ) from error
    except (OSError, SyntaxError, ValueError, struct.error, zlib.error) as error:
        raise _damaged() from error
    try:
        _check_pixels(image.size, webp=image.format == "WEBP")
        if image.width < 1 or image.height < 1 or _png_declares_more_than_it_holds(data):
            raise _damaged()
    except ValidationError:
        image.close()
        raise
    return image


# --- sizes ---------------------------------------------------------------------------


def fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size `Image.thumbnail((max_side, max_side))` gives an image of `size`, with
    its rounding: the sizes stored before decoding got cheaper, to the pixel."""
    width, height = size
    if max_side >= width and max_side >= height:
        return size

    def round_aspect(number: float, key) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    x = y = max_side
    aspect = width / height
    if x / y >= aspect:
        x = round_aspect(y * aspect, key=lambda n: abs(aspect - n / y))
    else:
        y = round_aspect(x / aspect, key=lambda n: 0 if n == 0 else abs(aspect - x / n))
    return x, y


def _orientation(image: Image.Image) -> int:
    # A broken EXIF block is not worth refusing the photo: it is shown as stored.
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return 1
    return value if value in _UPRIGHT else 1


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def _stored_fit(size: tuple[int, int], orientation: int, max_side: int) -> tuple[int, int]:
    """`fit` of the upright image, turned back to the stored orientation: the resize
    happens before the rotation (on the small copy), the sizes are those of before."""
    if orientation in _QUARTER_TURNS:
        height, width = fit((size[1], size[0]), max_side)
        return width, height
    return fit(size, max_side)


def _shrink(image: Image.Image, mode: str, size: tuple[int, int], box) -> Image.Image:
    """`image` in `mode` at `size`, without a full-size copy beside it. `box` is the
    region of `image` to resample (a drafted JPEG's original frame), None for all."""
    if image.mode == mode == "RGB":
        return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)
    # Lanczos is separable: widths are resampled a band of rows at a time (each band
    # converted on its own, so there is never a full-size converted copy), then the
    # heights in one pass over the narrow result. Transparent images are resampled
    # premultiplied ("RGBa"), as Pillow's resize does, but band by band: its resize
    # would premultiply a full-size copy first.
    working = "RGBa" if mode == "RGBA" else mode
    width, height = image.size
    box_width, box_height = (box[2], box[3]) if box else (width, height)
    rows = max(1, BAND_PIXELS // width)
    narrow = Image.new(working, (size[0], height))
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        if band.mode != mode:
            band = band.convert(mode)
        if band.mode != working:
            band = band.convert(working)
        narrow.paste(
            band.resize((size[0], band.height), Image.Resampling.LANCZOS,
                        box=(0, 0, box_width, band.height)),
            (0, top),
        )
    del band
    small = narrow.resize(size, Image.Resampling.LANCZOS, box=(0, 0, size[0], box_height))
    return small if small.mode == mode else small.convert(mode)


def _encode_webp(image: Image.Image, name: str) -> ContentFile:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    return ContentFile(buffer.getvalue(), name=name)


def _decode(image: Image.Image) -> None:
    try:
        # Only the current (first) frame is decoded: the other frames of an animated
        # PNG or WebP, or the second picture of a phone's MPO, are never looked at.
        image.load()
    except (OSError, SyntaxError, ValueError, struct.error, zlib.error) as error:
        raise _damaged() from error
    # The header was checked; this holds even for a plugin that sizes itself on load.
    _check_pixels(image.size, webp=image.format == "WEBP")


def _process(image: Image.Image) -> ProcessedImage:
    stored_size = image.size
    box = None
    is_jpeg = image.format in ("JPEG", "MPO")
    if is_jpeg:
        # A JPEG's EXIF is read with its header, so the sizes are known before decoding.
        orientation = _orientation(image)
        display_size = _stored_fit(stored_size, orientation, DISPLAY_MAX_SIDE)
        if display_size != stored_size:
            # libjpeg decodes at 1/2, 1/4 or 1/8 directly: the largest reduction that
            # still covers the display size. `box` is the original frame within it.
            drafted = image.draft(image.mode, display_size)
            if drafted is not None:
                box = drafted[1]
    _decode(image)
    if not is_jpeg:
        # A PNG may carry its EXIF after the pixels: read it once they are decoded.
        orientation = _orientation(image)
        display_size = _stored_fit(stored_size, orientation, DISPLAY_MAX_SIDE)
    thumbnail_size = _stored_fit(stored_size, orientation, THUMBNAIL_MAX_SIDE)
    mode = "RGBA" if _has_alpha(image) else "RGB"
    try:
        display = _shrink(image, mode, display_size, box)
        image.close()  # the decoded pixels go now, before the encoding
        thumbnail = display.resize(
            thumbnail_size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP
        )
        if orientation in _UPRIGHT:
            display = display.transpose(_UPRIGHT[orientation])
            thumbnail = thumbnail.transpose(_UPRIGHT[orientation])
        stem = uuid.uuid4().hex
        return ProcessedImage(
            display=_encode_webp(display, f"{stem}.webp"),
            thumbnail=_encode_webp(thumbnail, f"{stem}-thumb.webp"),
            width=display.width,
            height=display.height,
        )
    except (OSError, ValueError) as error:
        # A pixel format Pillow decodes but cannot convert: refuse it like a damaged file.
        raise _damaged() from error


def process_upload(uploaded_file) -> ProcessedImage:
    uploaded_file.seek(0)
    # Read at most one byte past the cap: a huge upload is refused without holding it all.
    data = uploaded_file.read(settings.IMAGE_MAX_BYTES + 1)
    # The header is checked before waiting for a slot: a refusal costs no wait.
    image = read_header(data)
    del data  # the image's own reader keeps what it needs
    try:
        with processing_slot():
            return _process(image)
    finally:
        image.close()
        del image
        _release_memory()
