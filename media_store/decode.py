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


class ImageRejected(ValueError):
    """The upload is not an image we accept; str(exc) is meant for the uploader."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    max_frames: int = 100
    max_seconds: float = 10.0


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
    """Identify and size-check without decoding pixels."""
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:g} MB."
        )
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
    if width < 1 or height < 1:
        raise ImageRejected("The image has no pixels (its width or height is zero).")
    if width * height > limits.max_pixels:
        raise ImageRejected(
            f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {limits.max_pixels / 1e6:g} megapixels."
        )
    return im


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
    if frames > limits.max_frames:
        raise ImageRejected(f"The animation has {frames} frames; the limit is {limits.max_frames}.")
    if frames > 1 and width * height * frames > limits.max_pixels * 4:
        raise ImageRejected(
            f"The animation is too large: {frames} frames of {width}x{height} pixels."
        )
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
