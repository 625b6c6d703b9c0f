"""Deciding whether bytes are an image we accept, and decoding them within limits.

Pure functions, bytes in, pixels and metadata out; no Django, no files, no ORM. The
format is decided by content (an explicit Pillow allowlist, never the name or the
Content-Type); every refusal is an `ImageRejected` whose text is meant for the uploader.
media_store/images.py makes the served versions from what this decodes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
import warnings
from dataclasses import dataclass
from functools import cache

from PIL import Image, features

logger = logging.getLogger(__name__)

# Pillow format name -> (MIME type, extension).
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
    "AVIF": ("image/avif", "avif"),
}
# EXIF orientation -> the transpose that undoes it (EXIF 2.32, tag 0x0112).
ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112
# Pillow's bytes per pixel in memory: 1 for L/P, 2 for 16-bit grey, 4 for every colour mode.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
# Decoding up to this much (the size of our own 2560x2560 "full" image) is cheap whatever
# the file's size, so small images that compress very well (icons, flat drawings) pass.
FULL_SIZE = 2560  # the "full" image fits FULL_SIZE x FULL_SIZE (media_store/images.py)
RATIO_FREE_BYTES = FULL_SIZE * FULL_SIZE * 4


class ImageRejected(ValueError):
    """The upload is not an image we accept; str(exc) is meant for the uploader."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    max_frames: int = 100
    max_seconds: float = 20.0  # config/settings.py MEDIA_MAX_SECONDS says why
    # Bytes of decoded pixels per byte of file, checked from the header before decoding
    # when the decoded pixels would pass RATIO_FREE_BYTES (see `check_work`).
    max_ratio: float = 500.0
    # Enforced by media_store.bounded (the child's data segment); `check_work` also
    # refuses at once, from the header, an image whose pixels alone would not fit.
    max_memory_mb: int = 300
    # CPU seconds of the child, all threads (RLIMIT_CPU, media_store.bounded): the work
    # an upload may cost whatever the machine's load, where max_seconds bounds the wait.
    max_cpu_seconds: float = 8.0


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Inspected:
    format: str
    mime_type: str
    extension: str
    width: int  # after EXIF orientation
    height: int
    frames: int
    sha256: str  # of the uploaded bytes


def accepted_formats() -> tuple[str, ...]:
    """Pillow format names accepted here: AVIF only when this Pillow can read it."""
    names = ["JPEG", "PNG", "GIF", "WEBP"]
    if _has_avif():
        names.append("AVIF")
    return tuple(names)


@cache
def _has_avif() -> bool:
    return bool(features.check("avif"))


class Deadline:
    """Pillow cannot be interrupted mid-decode; the pipeline checks between steps."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.until = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.until:
            raise ImageRejected(
                f"Processing this image took longer than {self.seconds:g} seconds; "
                "upload a smaller image."
            )


def _human_list(names: tuple[str, ...]) -> str:
    labels = [{"JPEG": "JPEG", "WEBP": "WebP"}.get(name, name) for name in names]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def exif_orientation(im: Image.Image) -> int:
    # getexif() also reads tiff:Orientation from XMP when there is no EXIF.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data"
            value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block is ignored, not fatal: it is dropped anyway
        logger.info("unreadable EXIF ignored", exc_info=True)
        return 1
    return value if value in ORIENTATION else 1


def open_checked(data: bytes, limits: Limits) -> Image.Image:
    """Identify, and check size, frames and work from the header, without decoding pixels.

    Nothing here may load pixels: a PNG's `getexif()` does (its eXIf chunk may follow
    the image data), so orientation is read after these checks.
    """
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:g} MB."
        )
    webp = _webp_size(data)
    if webp is not None:
        _check_declared(*webp, limits)
        _refuse_work(*webp, 4, 1, data, limits)
    try:
        im = Image.open(io.BytesIO(data), formats=accepted_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            f"The image has too many pixels; the limit is {limits.max_pixels / 1e6:g} megapixels."
        ) from None
    except Image.UnidentifiedImageError:
        raise ImageRejected(
            f"This file is not an image we accept: upload a {_human_list(accepted_formats())} file."
        ) from None
    width, height = im.size
    _check_declared(width, height, limits)
    # Counting frames reads their headers, not their pixels.
    frames = getattr(im, "n_frames", 1)
    if frames > limits.max_frames:
        raise ImageRejected(f"The animation has {frames} frames; the limit is {limits.max_frames}.")
    if frames > 1 and width * height * frames > limits.max_pixels * 4:
        raise ImageRejected(
            f"The animation is too large: {frames} frames of {width}x{height} pixels."
        )
    check_work(im, data, limits, frames)
    return im


def _refuse_work(width: int, height: int, bytes_per_pixel: int, frames: int, data, limits):
    decoded = width * height * bytes_per_pixel * max(frames, 1)
    if decoded > RATIO_FREE_BYTES and decoded > limits.max_ratio * len(data):
        raise ImageRejected(
            f"The image declares {width}x{height} pixels"
            + (f" in {frames} frames" if frames > 1 else "")
            + f" but the file is only {len(data):,} bytes: it would decompress "
            f"{decoded / len(data):,.0f} times its size (the limit is {limits.max_ratio:g}). "
            "Such files are almost always decompression bombs; upload the picture itself."
        )


def check_work(im: Image.Image, data: bytes, limits: Limits, frames: int) -> None:
    """Refuse, from the header alone, an image that costs far more to decode than it weighs.

    Size limits bound the file, not the work: a 47 KB PNG may declare 7000x7000 zeros
    (49 MB of pixels, 1,000 times its size) and a 67-byte one 1x49,999,999. Deflate cannot
    compress better than about 1,032:1, real photos and drawings sit far below 500:1
    (the corpus's largest legitimate ratio is under 200), and an image that decodes to no
    more than our own "full" image is cheap whatever its ratio.
    """
    width, height = im.size
    _refuse_work(width, height, _BYTES_PER_PIXEL.get(im.mode, 4), frames, data, limits)
    needed = _pixel_memory(width, height, im.mode, im.format, frames)
    if needed > limits.max_memory_mb * 1024 * 1024:
        raise ImageRejected(
            f"The image is too large to process: its {width}x{height} pixels need about "
            f"{needed / 2**20:,.0f} MB, and an upload may use {limits.max_memory_mb} MB."
        )


def _pixel_memory(width: int, height: int, mode: str, fmt: str | None, frames: int) -> int:
    """Bytes the pipeline cannot do without: the decoded image plus the "full" one.

    A floor, not an estimate of the peak (the decoder's buffers and the smaller sizes
    come on top): refusing here means the child's memory cap would refuse anyway, after
    seconds of decoding instead of at once. A JPEG is counted at the scale `Image.draft`
    decodes it for a full image (1/2, 1/4 or 1/8); an animation keeps two canvases
    (the frame being decoded and the one it is drawn over).
    """
    fit = min(1.0, FULL_SIZE / width, FULL_SIZE / height)
    scale = 1
    while fmt == "JPEG" and scale < 8 and fit * scale * 2 <= 1:
        scale *= 2
    decoded = -(-width // scale) * -(-height // scale) * _BYTES_PER_PIXEL.get(mode, 4)
    full = int(width * fit) * int(height * fit) * 4
    return decoded * (2 if frames > 1 else 1) + full


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """A WebP's canvas from its first chunk (VP8X, VP8L or VP8), or None.

    Needed before Pillow sees the file: its WebP plugin allocates the whole canvas (and
    a second one for animation) when it opens the file, before any check can run.
    """
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    kind = data[12:16]
    if kind == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if kind == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    return None


def _check_declared(width: int, height: int, limits: Limits) -> None:
    if width < 1 or height < 1:
        raise ImageRejected("The image has no pixels (its width or height is zero).")
    if width * height > limits.max_pixels:
        raise ImageRejected(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:g} megapixels."
        )


def decode(data: bytes, limits: Limits, deadline: Deadline, draft: tuple[int, int] | None):
    """Open, check and fully decode; returns (image, Inspected).

    `draft` asks JPEG to decode at a reduced scale no smaller than that size (in the
    file's own orientation): a 6000x4000 photo for a 2560 output decodes at 3000x2000,
    a quarter of the work and memory. The whole entropy-coded stream is still read,
    so a truncated file is still caught.
    """
    im = open_checked(data, limits)
    fmt = im.format
    width, height = im.size
    frames = getattr(im, "n_frames", 1)
    deadline.check()
    if draft is not None and fmt == "JPEG":
        im.draft(im.mode, draft)
    im.load()
    deadline.check()
    if frames > 1:
        # Every frame must decode, or the animation would break for readers.
        for index in range(1, frames):
            im.seek(index)
            im.load()
            deadline.check()
        im.seek(0)
        im.load()
    orientation = exif_orientation(im)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    mime_type, extension = FORMATS[fmt]
    inspected = Inspected(
        format=fmt,
        mime_type=mime_type,
        extension=extension,
        width=width,
        height=height,
        frames=frames,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return im, inspected


def guarded(func, *args):
    """Run a decode step with bomb warnings as errors and decoder failures translated."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return func(*args)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(
                "The image declares more pixels than it may have (a decompression bomb)."
            ) from None
        except MemoryError:
            raise ImageRejected("The image is too large to process.") from None
        except Exception as exc:
            # Pillow reports damaged files with many exception types (OSError,
            # SyntaxError, ValueError, struct.error, EOFError, IndexError...).
            logger.info("image rejected as unreadable: %s: %s", type(exc).__name__, exc)
            raise ImageRejected("The image is damaged or truncated and cannot be read.") from None


def inspect(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Inspected:
    """Validate only; raises ImageRejected with a message for the uploader."""
    deadline = Deadline(limits.max_seconds)
    # Decoding at the smallest JPEG scale still reads the whole file.
    _, inspected = guarded(decode, data, limits, deadline, (1, 1))
    return inspected
