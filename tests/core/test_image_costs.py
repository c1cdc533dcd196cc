"""What processing an upload costs: refusals from the header alone, reduced decoding,
one image at a time per process, and the same stored photos as before."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib

import pytest
from django.core.exceptions import ValidationError
from PIL import ExifTags, Image, ImageChops, ImageFile, ImageStat, JpegImagePlugin

from core import images
from core.images import process_upload
from tests.core.test_images import decoded, encode, upload

# --- builders --------------------------------------------------------------------------


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A smooth photo-like picture that compresses well and shows any misplaced band."""
    flat = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    round_ = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    image = Image.merge("RGB", (flat, round_, flat.transpose(Image.Transpose.ROTATE_180)))
    return image if mode == "RGB" else image.convert(mode)


def oriented_jpeg(size: tuple[int, int], orientation: int, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N",
                                      ExifTags.GPS.GPSLatitude: (45.0, 53.0, 57.12)}
    return encode(gradient(size), "JPEG", exif=exif)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(size: tuple[int, int]) -> bytes:
    """A real 16x16 PNG whose header says it is `size`: its pixel data cannot fill it."""
    data = encode(Image.new("RGB", (16, 16), (90, 20, 200)), "PNG")
    ihdr = data[16:29]
    fake = struct.pack(">II", *size) + ihdr[8:]
    return data[:8] + png_chunk(b"IHDR", fake) + data[33:]


def png_with_text(chunks: int, each: int) -> bytes:
    """A small PNG carrying `chunks` zTXt chunks that inflate to `each` bytes apiece."""
    data = encode(Image.new("RGB", (32, 32), (0, 100, 0)), "PNG")
    text = b"".join(
        png_chunk(b"zTXt", b"Comment%d\0\0" % n + zlib.compress(b"x" * each, 9))
        for n in range(chunks)
    )
    return data[:33] + text + data[33:]


def animated_png(colours: list[tuple[int, int, int]]) -> bytes:
    frames = [Image.new("RGB", (60, 40), colour) for colour in colours]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def mean_difference(stored: Image.Image, picture: Image.Image) -> float:
    """How far a stored copy is from the picture, channel by channel (0-255)."""
    expected = picture.convert("RGB").resize(stored.size, Image.Resampling.BOX)
    return max(ImageStat.Stat(ImageChops.difference(stored.convert("RGB"), expected)).mean)


@pytest.fixture
def loads(monkeypatch):
    """Every decode of a file's pixels, as (format, size being decoded)."""
    seen: list[tuple[str, tuple[int, int]]] = []
    original = ImageFile.ImageFile.load

    def spy(self):
        if self.tile:
            seen.append((self.format, self.size))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return seen


def refused(data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        process_upload(upload(data))
    return error.value


# --- the pixel cap, from the header ------------------------------------------------------


def test_the_issues_png_is_refused_from_its_header_without_decoding(loads):
    # 6324 x 6324: the 155 KB PNG that cost 506 MB.
    data = encode(Image.new("L", (6324, 6324), 255), "PNG")
    error = refused(data)
    assert error.messages == [
        "This photo is 40 megapixels; photos up to 24 megapixels are accepted: "
        "resize it and try again."
    ]
    assert error.code == "too_many_pixels"
    assert loads == []


def test_a_photo_just_over_the_cap_never_reads_as_equal_to_it():
    error = refused(encode(Image.new("1", (6000, 4001)), "PNG"))
    assert "This photo is 24.1 megapixels; photos up to 24 megapixels" in error.messages[0]


def test_a_photo_of_exactly_24_megapixels_is_accepted():
    processed = process_upload(upload(encode(Image.new("RGB", (6000, 4000), (5, 90, 160)), "JPEG")))
    assert (processed.width, processed.height) == (1600, 1067)


def test_the_cap_is_a_setting(settings):
    settings.IMAGE_MAX_PIXELS = 2_500_000
    process_upload(upload(encode(gradient((2000, 1250)), "JPEG")))
    error = refused(encode(gradient((2000, 1300)), "JPEG"))
    assert "This photo is 2.6 megapixels; photos up to 2.5 megapixels" in error.messages[0]


def test_a_large_webp_is_refused_before_libwebp_reserves_its_canvas(monkeypatch):
    from PIL import WebPImagePlugin

    data = encode(gradient((3600, 2600)), "WEBP", quality=50)  # 9.4 MP

    def no_decoder(*args):
        raise AssertionError("the WebP decoder was created")

    monkeypatch.setattr(WebPImagePlugin._webp, "WebPAnimDecoder", no_decoder)
    error = refused(data)
    assert error.messages == [
        "This WebP image is 9.4 megapixels; WebP images up to 9 megapixels are accepted "
        "(JPEG and PNG photos up to 24): resize it, or send it as a JPEG, and try again."
    ]


def test_a_webp_under_its_cap_is_accepted():
    processed = process_upload(upload(encode(gradient((3000, 2000)), "WEBP", quality=50)))
    assert (processed.width, processed.height) == (1600, 1067)


def test_a_png_whose_header_claims_more_than_its_data_holds_is_refused_unread(loads):
    error = refused(png_claiming((5000, 4000)))
    assert error.code == "damaged"
    assert "damaged or incomplete" in error.messages[0]
    assert loads == []
    # The same file with its own size is fine: the check does not refuse honest PNGs.
    assert process_upload(upload(png_claiming((16, 16)))).width == 16


def test_a_cut_big_jpeg_is_refused_and_was_decoded_reduced(loads):
    data = encode(gradient((4000, 3000)), "JPEG")
    error = refused(data[: len(data) // 3])
    assert error.code == "damaged"
    assert loads == [("JPEG", (2000, 1500))]


def test_text_chunks_cannot_inflate_to_megabytes():
    # 8 chunks of 900 KB each: 7 MB of text once inflated, from a 10 KB file.
    data = png_with_text(8, 900_000)
    assert len(data) < 20_000
    assert refused(data).code == "damaged"
    # A PNG with an ordinary comment is still accepted.
    assert process_upload(upload(png_with_text(1, 200))).width == 32


def test_an_animated_png_is_stored_as_its_first_frame_only(monkeypatch):
    data = animated_png([(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    assert Image.open(io.BytesIO(data)).n_frames == 3
    seeks: list[int] = []
    original = Image.Image.seek

    def spy(self, frame):
        seeks.append(frame)
        return original(self, frame)

    monkeypatch.setattr(Image.Image, "seek", spy)
    processed = process_upload(upload(data))
    display = decoded(processed.display)
    assert getattr(display, "n_frames", 1) == 1
    assert display.convert("RGB").getpixel((30, 20))[0] > 200  # red, the first frame
    assert [frame for frame in seeks if frame > 0] == []


# --- decoding at reduced size ------------------------------------------------------------


@pytest.mark.parametrize(("size", "decoded_at"), [
    ((6000, 4000), (3000, 2000)),   # a phone's 24 MP photo: libjpeg decodes 1/2
    ((4000, 3000), (2000, 1500)),
    ((8000, 1000), (2000, 250)),    # a panorama: 1/4 still covers 1600 px wide
    ((1000, 750), (1000, 750)),     # already small: decoded as it is
])
def test_a_big_jpeg_is_decoded_at_a_reduced_size(loads, size, decoded_at):
    processed = process_upload(upload(encode(gradient(size), "JPEG")))
    assert loads == [("JPEG", decoded_at)]
    assert max(processed.width, processed.height) == min(1600, max(size))


def test_a_drafted_jpeg_keeps_no_exif_and_is_turned_upright(loads):
    data = oriented_jpeg((4000, 3000), orientation=6, gps=True)
    processed = process_upload(upload(data))
    assert loads == [("JPEG", (2000, 1500))]
    assert (processed.width, processed.height) == (1200, 1600)
    for stored in (processed.display, processed.thumbnail):
        stored.seek(0)
        content = stored.read()
        assert b"PhoneCo" not in content
        image = decoded(stored)
        assert not image.getexif() and "exif" not in image.info
        assert image.height > image.width
    # Upright: the top of the upright photo is the left of the stored one.
    upright = gradient((4000, 3000)).transpose(Image.Transpose.ROTATE_270)
    assert mean_difference(decoded(processed.display), upright) < 4


# --- the same stored photos as before ---------------------------------------------------

# (display, thumbnail) sizes the code before this change stored for each file: measured
# with it, so that cheaper decoding changes no stored size by a pixel.
SIZES_BEFORE = {
    "jpeg 4032x3024": ((1600, 1200), (480, 360)),
    "jpeg 3024x4032": ((1200, 1600), (360, 480)),
    "jpeg 4000x2250": ((1600, 900), (480, 270)),
    "jpeg 1080x1920": ((900, 1600), (270, 480)),
    "jpeg 1000x750": ((1000, 750), (480, 360)),
    "jpeg 3001x1999": ((1600, 1066), (480, 320)),
    "jpeg 4001x3001 turned 6": ((1200, 1600), (360, 480)),
    "jpeg 3333x2111 turned 8": ((1013, 1600), (304, 480)),
    "grey jpeg 4000x3000": ((1600, 1200), (480, 360)),
    "cmyk jpeg 3000x2001": ((1600, 1067), (480, 320)),
    "palette png 3000x2000": ((1600, 1067), (480, 320)),
    "rgba png 2501x1701": ((1600, 1088), (480, 326)),
    "webp 2999x1777": ((1600, 948), (480, 284)),
}


def sample(name: str) -> tuple[bytes, Image.Image]:
    """The file, and the upright picture it holds."""
    kind, _, rest = name.partition(" ")
    if kind in ("grey", "cmyk", "palette", "rgba"):
        fmt, size_text = rest.split(" ")
    else:
        fmt, size_text = kind, rest.split(" ")[0]
    width, height = (int(n) for n in size_text.split("x"))
    picture = gradient((width, height))
    if "turned" in name:
        orientation = int(name.rsplit(" ", 1)[1])
        turn = {6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90}[orientation]
        upright = picture.transpose(turn)
        return oriented_jpeg((width, height), orientation), upright
    source = {"grey": picture.convert("L"), "cmyk": picture.convert("CMYK"),
              "palette": picture.quantize(64), "rgba": picture.convert("RGBA")}.get(kind, picture)
    return encode(source, fmt.upper()), source


@pytest.mark.parametrize("name", list(SIZES_BEFORE))
def test_normal_photos_are_stored_at_the_same_sizes_as_before(name):
    data, upright = sample(name)
    processed = process_upload(upload(data))
    display, thumbnail = decoded(processed.display), decoded(processed.thumbnail)
    assert (display.size, thumbnail.size) == SIZES_BEFORE[name]
    assert (processed.width, processed.height) == display.size
    # And they show the picture: no band misplaced, no colour lost in a conversion.
    assert mean_difference(display, upright) < 6
    assert mean_difference(thumbnail, upright) < 6


def test_a_transparent_png_converted_band_by_band_keeps_its_alpha():
    picture = gradient((2400, 1800)).convert("LA")
    picture.putalpha(Image.linear_gradient("L").resize((2400, 1800), Image.Resampling.BILINEAR))
    display = decoded(process_upload(upload(encode(picture, "PNG"))).display)
    assert display.mode == "RGBA"
    top, bottom = display.getpixel((800, 5))[3], display.getpixel((800, 1195))[3]
    assert top < 20 and bottom > 235


# --- at most IMAGE_MAX_CONCURRENT at once --------------------------------------------------


def test_a_busy_process_refuses_after_the_wait_with_a_clear_message(settings):
    settings.IMAGE_MAX_CONCURRENT = 1
    settings.IMAGE_WAIT_SECONDS = 0.3
    data = encode(gradient((800, 600)), "JPEG")
    with images.processing_slot():
        started = time.monotonic()
        with pytest.raises(ValidationError) as error:
            process_upload(upload(data))
        waited = time.monotonic() - started
    assert error.value.code == "busy"
    assert error.value.messages == [
        "Many photos are being processed right now. Please try again in a moment."
    ]
    assert 0.3 <= waited < 2
    # The slot is free again once released.
    assert process_upload(upload(data)).width == 800


def test_a_refusal_from_the_header_does_not_wait_for_a_slot(settings):
    settings.IMAGE_WAIT_SECONDS = 5
    with images.processing_slot():
        started = time.monotonic()
        error = refused(encode(Image.new("1", (7000, 7000)), "PNG"))
        assert time.monotonic() - started < 1
    assert error.code == "too_many_pixels"


def test_parallel_uploads_are_decoded_one_at_a_time(settings, monkeypatch):
    settings.IMAGE_MAX_CONCURRENT = 1
    settings.IMAGE_WAIT_SECONDS = 30
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    original = JpegImagePlugin.JpegImageFile.load

    def slow_load(self):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        try:
            return original(self)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", slow_load)
    data = encode(gradient((400, 300)), "JPEG")
    results: list[object] = []

    def work():
        results.append(process_upload(upload(data)).width)

    threads = [threading.Thread(target=work) for _n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [400] * 4
    assert state["most"] == 1


def test_two_slots_let_two_images_through(settings):
    settings.IMAGE_MAX_CONCURRENT = 2
    settings.IMAGE_WAIT_SECONDS = 0.2
    with images.processing_slot():
        assert process_upload(upload(encode(gradient((200, 100)), "JPEG"))).width == 200


# --- memory, measured in a process of its own ---------------------------------------------

MEMORY_PROBE = r"""
import io, json, threading, time
from concurrent.futures import ThreadPoolExecutor
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from core.images import process_upload

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))

def jpeg(size):
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()

small, big = jpeg((300, 200)), jpeg((6000, 4000))
def run(data):
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _n: process_upload(SimpleUploadedFile("p.jpg", data)), range(4)))
run(small)
time.sleep(0.2)
before, peak, done = rss(), [0], threading.Event()
def sample():  # ru_maxrss would count the parent's memory (it survives exec)
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.005)
sampler = threading.Thread(target=sample)
sampler.start()
run(big)
done.set()
sampler.join()
time.sleep(0.2)
print(json.dumps({"growth": peak[0] - before, "kept": rss() - before}))
"""


def test_four_parallel_24_megapixel_photos_cost_little_and_give_the_memory_back(settings):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings",
               IMAGE_MAX_CONCURRENT="1", IMAGE_WAIT_SECONDS="60")
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["growth"] < 150, figures
    assert figures["kept"] < 20, figures
