"""Hostile images, made in memory: each name maps to (make, words of its refusal).

Plain Python (Pillow, no Django), shared by tests/media_library/test_bounded_uploads.py
and bench/upload_bench.py.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from functools import cache

from PIL import Image


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


def saved(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


@cache  # 0.7 s to make; several tests and the bench upload it
def heavy_png() -> bytes:
    """36 megapixels of noise that compress 19:1: under every header limit, and the
    most work per upload byte a legitimate-looking PNG costs (noise encodes slowly)."""
    noise = Image.effect_noise((1000, 1000), 64)
    return saved(noise.resize((6000, 6000), Image.Resampling.NEAREST), "PNG", compress_level=1)


@cache
def noise_png() -> bytes:
    """2560x2560 of RGB noise (19.7 MB, incompressible): the most encoding work a PNG under
    the 20 MB limit can ask for, since every rendition is noise too; its 20 MB PNG
    renditions hold a chance `<?=` about once each, which used to cost retries and refusals."""
    pixels = random.Random(16).randbytes(2560 * 2560 * 3)
    return saved(Image.frombytes("RGB", (2560, 2560), pixels), "PNG", compress_level=1)


BOMBS = {
    "zero-7000x7000.png": (lambda: _zero_png(7000), "decompress"),
    "tall-1x49999999.png": (lambda: _png(1, 49_999_999, zlib.compress(b"\0\0")), "decompress"),
    "flat-7000x7000.gif": (lambda: saved(Image.new("P", (7000, 7000)), "GIF"), "decompress"),
    "huge-16383x16383.webp": (lambda: _webp_vp8x(16383, 16383), "megapixels"),
    "flat-7000x7000.webp": (
        lambda: saved(Image.new("RGB", (7000, 7000)), "WEBP", lossless=True),
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
    "tiff-named.png": (lambda: saved(Image.new("RGB", (64, 64)), "TIFF"), "not an image"),
    "deep-100000-frames.png": (lambda: _apng_declaring(100_000, 16), "frames"),
    "deep-40x3000x3000.png": (lambda: _apng_declaring(40, 3000), "animation is too large"),
}
