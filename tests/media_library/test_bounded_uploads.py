"""Uploads bounded by the work they cost, not only their size (issue 16), through the JSON
upload an author uses: bombs refused from their header, a pipeline stopped mid-step by
the clock or the memory cap, the instance's processing slots, and real photos accepted."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from media_library import services as media_services
from media_library.models import MediaItem
from media_store import bounded
from tests.conftest import corpus
from tests.media_library.test_upload import image_bytes, login, stored_files, upload


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, idat: bytes, *, color_type: int = 0, extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _zero_png(size: int) -> bytes:
    """The issue's bomb: size x size grey zeros, ~47 KB for 7000x7000."""
    deflate = zlib.compressobj(9)
    row = b"\0" * (size + 1)
    idat = b"".join(deflate.compress(row) for _ in range(size)) + deflate.flush()
    return _png(size, size, idat)


def _apng_declaring(frames: int, size: int) -> bytes:
    """An APNG whose header promises `frames` frames of size x size (one tiny IDAT)."""
    actl = _chunk(b"acTL", struct.pack(">II", frames, 0))
    return _png(size, size, zlib.compress(b"\0" * (size + 1)), extra=actl)


def _webp_vp8x(width: int, height: int) -> bytes:
    """A WebP header declaring a canvas, and nothing behind it."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def _saved(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


BOMBS = {
    "zero-7000x7000.png": (lambda: _zero_png(7000), "decompress"),
    "tall-1x49999999.png": (lambda: _png(1, 49_999_999, zlib.compress(b"\0\0")), "decompress"),
    "flat-7000x7000.gif": (lambda: _saved(Image.new("P", (7000, 7000)), "GIF"), "decompress"),
    "huge-16383x16383.webp": (lambda: _webp_vp8x(16383, 16383), "megapixels"),
    "flat-7000x7000.webp": (
        lambda: _saved(Image.new("RGB", (7000, 7000)), "WEBP", lossless=True),
        "decompress",
    ),
    "wide-65535x65535.gif": (
        lambda: (
            b"GIF89a"
            + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0)
            + b"\0\0\0\xff\xff\xff"  # two colours
            + b","
            + struct.pack("<HHHHB", 0, 0, 1, 1, 0)  # one 1x1 frame
            + b"\x02\x02\x44\x01\x00;"
        ),
        "megapixels",
    ),
    "tiff-named.png": (lambda: _saved(Image.new("RGB", (64, 64)), "TIFF"), "not an image"),
    "deep-100000-frames.png": (lambda: _apng_declaring(100_000, 16), "frames"),
    "deep-40x3000x3000.png": (lambda: _apng_declaring(40, 3000), "animation is too large"),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_is_refused_from_its_header_with_a_clear_400(client, author, settings, name):
    make, message = BOMBS[name]
    login(client, author)
    response = upload(client, make(), name)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def _heavy_png() -> bytes:
    """36 megapixels that compress 15:1: under every header limit, seconds of real work."""
    noise = Image.effect_noise((1000, 1000), 64)
    return _saved(noise.resize((6000, 6000), Image.Resampling.NEAREST), "PNG", compress_level=1)


def test_processing_past_media_max_seconds_is_stopped_mid_step(client, author, settings):
    settings.MEDIA_MAX_SECONDS = 1
    settings.MEDIA_MAX_MEMORY_MB = 2000  # the clock, not the memory cap, must stop it
    login(client, author)
    response = upload(client, _heavy_png(), "heavy.png")
    assert response.status_code == 400
    # The child was killed by the clock; the pipeline's own checks between steps say
    # "took longer than" and never had the chance.
    assert "stopped after 1 seconds" in response.json()["error"]
    assert not MediaItem.objects.exists()
    # The next upload gets a fresh child and goes through.
    settings.MEDIA_MAX_SECONDS = 10
    assert upload(client, image_bytes(), "next.jpg").status_code == 201


def test_processing_past_the_memory_cap_is_refused_not_a_500(client, author, settings):
    settings.MEDIA_MAX_MEMORY_MB = 40
    login(client, author)
    response = upload(client, image_bytes((3000, 2000)), "big.jpg")
    assert response.status_code == 400
    assert "too large to process" in response.json()["error"]
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def test_uploads_past_the_instances_slots_get_503_with_retry_after(client, author, settings):
    settings.MEDIA_UPLOAD_SLOTS = 2
    directory = media_services._slot_directory()
    login(client, author)
    with bounded.slot(2, directory), bounded.slot(2, directory):
        busy = upload(client, image_bytes(), "busy.jpg")
    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert "try again" in busy.json()["error"]
    assert not MediaItem.objects.exists()
    # A slot held by another process is seen too: an flock, not a counter in memory.
    with bounded.slot(2, directory):
        assert upload(client, image_bytes(), "one-free.jpg").status_code == 201


@pytest.mark.parametrize("name", ["adwaita-6000x4000.jpg", "wood-4096x4096.jpg"])
def test_a_real_photo_is_accepted_with_every_size(
    client, author, name, django_capture_on_commit_callbacks
):
    data = corpus("images", "photos", name).read_bytes()
    login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, data, name)
    assert response.status_code == 201, response.content
    item = MediaItem.objects.get()
    assert item.status == MediaItem.Status.READY
    names = {r["name"] for r in item.renditions}
    assert {"full", "thumbnail", "medium", "large", "2048x2048", "2048x2048-webp"} <= names
