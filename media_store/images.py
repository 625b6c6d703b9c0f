"""The image pipeline: validate an upload, then make the clean versions that are served.

Pure functions, bytes in, bytes and metadata out; no Django, no files, no ORM.

- `inspect(data)` decides by content (an explicit Pillow format allowlist, never the
  name or the Content-Type) whether the bytes are an image we accept, within `Limits`,
  and raises `ImageRejected` with a message meant for the uploader otherwise.
- `make_renditions(data)` returns every version that may be served; `make_full(data)`
  only the first two ("full" and its WebP twin), what an upload request needs. Nothing of the
  uploaded file is copied through: each output is re-encoded from pixels, with EXIF
  orientation applied, colours converted to sRGB and every piece of metadata dropped
  (EXIF incl. GPS, XMP, ICC, JPEG comments, PNG text chunks). The original upload is
  never served.

Rendition names (WordPress's sizes):

    full          the original, oriented and cleaned, scaled to fit 2560x2560
    thumbnail     150x150, centre-cropped
    medium        fits 300x300
    medium_large  768 wide
    large         fits 1024x1024
    1536x1536     fits 1536x1536
    2048x2048     fits 2048x2048

A size is made only when it is smaller than the (oriented) original; `full` always
exists. Each comes in the original's format under its plain name, followed by a WebP
twin named `<name>-webp` (`full-webp`, `medium-webp`...). A WebP original has no twins:
its plain renditions are already WebP. Order: full, full-webp, thumbnail,
thumbnail-webp, ... in the order of the table above.

Animation (GIF, WebP, APNG): `full` and `full-webp` keep it, frame timing and loop
count included, when every frame fits the pixel budget (width x height x frames within
`Limits.max_pixels`); otherwise, and for every smaller size, the first frame is used.
A thumbnail is a still image, as in WordPress.

The same input gives byte-identical output (no timestamps, no random state).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageCms, features

logger = logging.getLogger(__name__)

FULL_SIZE = 2560
# (name, max width, max height, crop); 0 means unbounded, as in WordPress.
SIZES: tuple[tuple[str, int, int, bool], ...] = (
    ("thumbnail", 150, 150, True),
    ("medium", 300, 300, False),
    ("medium_large", 768, 0, False),
    ("large", 1024, 1024, False),
    ("1536x1536", 1536, 1536, False),
    ("2048x2048", 2048, 2048, False),
)
WEBP_SUFFIX = "-webp"

# Pillow format name -> (MIME type, extension).
_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
    "AVIF": ("image/avif", "avif"),
}
# JPEG quality 82 is WordPress's default; WebP 80 is close in size and look.
_SAVE_OPTIONS = {
    "JPEG": {"quality": 82, "progressive": True, "optimize": False},
    "PNG": {"compress_level": 6},
    "GIF": {},
    "WEBP": {"quality": 80, "method": 4},
    "AVIF": {"quality": 70, "speed": 8},
}
# Lossless formats can reproduce pixel-borne payloads byte for byte: other settings.
_RETRY_OPTIONS = {
    "PNG": ({"compress_level": 9}, {"compress_level": 1}, {"optimize": True}),
}
# What must never be served: PHP openers, HTML that browsers sniff, script URLs.
_CODE = re.compile(
    rb"<\?(?:php|=)|<script|<svg|<html|<iframe|<body|javascript:|\$_(?:GET|POST|REQUEST|COOKIE)",
    re.IGNORECASE,
)
# EXIF orientation -> the transpose that undoes it (EXIF 2.32, tag 0x0112).
_ORIENTATION = {
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


@dataclass(frozen=True)
class Inspected:
    format: str
    mime_type: str
    extension: str
    width: int  # after EXIF orientation
    height: int
    frames: int
    sha256: str  # of the uploaded bytes


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    mime_type: str
    extension: str
    data: bytes


def accepted_formats() -> tuple[str, ...]:
    """Pillow format names accepted here: AVIF only when this Pillow can read it."""
    names = ["JPEG", "PNG", "GIF", "WEBP"]
    if _has_avif():
        names.append("AVIF")
    return tuple(names)


@cache
def _has_avif() -> bool:
    return bool(features.check("avif"))


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class _Deadline:
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


def _orientation(im: Image.Image) -> int:
    # getexif() also reads tiff:Orientation from XMP when there is no EXIF.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data"
            value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block is ignored, not fatal: it is dropped anyway
        logger.info("unreadable EXIF ignored", exc_info=True)
        return 1
    return value if value in _ORIENTATION else 1


def _open(data: bytes, limits: Limits) -> Image.Image:
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


def _decode(data: bytes, limits: Limits, deadline: _Deadline, draft: tuple[int, int] | None):
    """Open, check and fully decode; returns (image, Inspected).

    `draft` asks JPEG to decode at a reduced scale no smaller than that size (in the
    file's own orientation): a 6000x4000 photo for a 2560 output decodes at 3000x2000,
    a quarter of the work and memory. The whole entropy-coded stream is still read,
    so a truncated file is still caught.
    """
    im = _open(data, limits)
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
    orientation = _orientation(im)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    mime_type, extension = _FORMATS[fmt]
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


def _guarded(func, *args):
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


def inspect(data: bytes, limits: Limits = Limits()) -> Inspected:
    """Validate only; raises ImageRejected with a message for the uploader."""
    deadline = _Deadline(limits.max_seconds)
    # Decoding at the smallest JPEG scale still reads the whole file.
    _, inspected = _guarded(_decode, data, limits, deadline, (1, 1))
    return inspected


# --- Pixels ---------------------------------------------------------------------------


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    )


def _to_srgb(im: Image.Image) -> Image.Image:
    """RGB or RGBA pixels in sRGB, with nothing in `info`."""
    mode = "RGBA" if _has_alpha(im) else "RGB"
    icc = im.info.get("icc_profile")
    out = None
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            base = im
            if im.mode not in ("RGB", "RGBA", "CMYK", "L"):
                base = im.convert(mode)
            target_mode = mode if base.mode in ("RGB", "RGBA") else "RGB"
            out = ImageCms.profileToProfile(
                base, source, _srgb(), outputMode=target_mode, renderingIntent=0
            )
            if out is not None and out.mode != mode:
                out = out.convert(mode)
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            # A broken or mismatched profile: keep the numbers, drop the profile.
            logger.info("ICC profile ignored: %s", exc)
            out = None
    if out is None:
        out = im.convert(mode) if im.mode != mode else im.copy()
    out.info = {}
    return out


def _fit(size: tuple[int, int], max_w: int, max_h: int) -> tuple[int, int] | None:
    """The size that fits the box, or None when the image already fits it."""
    width, height = size
    scales = []
    if max_w:
        scales.append(max_w / width)
    if max_h:
        scales.append(max_h / height)
    scale = min(scales)
    if scale >= 1:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    if im.size == size:
        out = im.copy()
    else:
        # reducing_gap: a cheap box reduction first, then Lanczos; visually the same.
        out = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out.info = {}
    return out


def _crop(im: Image.Image, box_w: int, box_h: int) -> Image.Image | None:
    width, height = im.size
    if width <= box_w and height <= box_h:
        return None
    target = (min(box_w, width), min(box_h, height))
    # The largest centred region with the target's aspect ratio, then scaled to it.
    scale = max(target[0] / width, target[1] / height)
    crop_w, crop_h = round(target[0] / scale), round(target[1] / scale)
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    out = im.resize(
        target,
        Image.Resampling.LANCZOS,
        box=(left, top, left + crop_w, top + crop_h),
        reducing_gap=3.0,
    )
    out.info = {}
    return out


def _encode_once(im, fmt, frames, options, anim) -> bytes:
    buffer = io.BytesIO()
    options = dict(options)
    if frames:
        for frame in frames:
            frame.info = {}
        options.update(save_all=True, append_images=frames, **anim)
    im.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _encode(im: Image.Image, fmt: str, frames: list[Image.Image] | None = None, **anim) -> bytes:
    """Encode pixels only: no exif, icc_profile, comment or text chunk is passed.

    Pixels themselves can carry a payload: a PNG whose filtered, deflated rows spell
    `<?=$_GET[0]...?>` comes out of a lossless re-encode at the same size unchanged.
    Every output is scanned; a hit is re-encoded with other settings, and refused
    when code still shows.
    """
    if fmt == "JPEG" and im.mode != "RGB":
        im = im.convert("RGB")
    im.info = {}
    for options in (_SAVE_OPTIONS[fmt], *_RETRY_OPTIONS.get(fmt, ())):
        data = _encode_once(im, fmt, frames, options, anim)
        found = _CODE.search(data)
        if found is None:
            return data
        logger.info("re-encoding: %s output contains %r", fmt, found.group(0))
    raise ImageRejected(
        "The image's pixels hide text that looks like program code (a polyglot file); "
        "it is refused."
    )


def _frames(im: Image.Image, size: tuple[int, int], orientation: int, deadline: _Deadline):
    """Every frame after the first, oriented and resized, with durations and loop count."""
    durations = []
    rest = []
    for index in range(im.n_frames):
        im.seek(index)
        durations.append(int(im.info.get("duration", 100) or 100))
        if index:
            frame = _to_srgb(im)
            if orientation != 1:
                frame = frame.transpose(_ORIENTATION[orientation])
            rest.append(_resize(frame, size))
            deadline.check()
    loop = im.info.get("loop", 0)
    im.seek(0)
    return rest, {"duration": durations, "loop": int(loop) if loop is not None else 0}


def _renditions(data: bytes, limits: Limits, full_only: bool = False) -> Iterator[Rendition]:
    deadline = _Deadline(limits.max_seconds)
    first = _open(data, limits)
    orientation = _orientation(first)
    width, height = first.size
    full_size = _fit((width, height), FULL_SIZE, FULL_SIZE) or (width, height)
    transposed = orientation in (5, 6, 7, 8)
    # The draft box is in file orientation; the full size is in display orientation.
    draft = (full_size[1], full_size[0]) if transposed else full_size
    im, inspected = _decode(data, limits, deadline, draft)
    fmt = inspected.format

    base = _to_srgb(im)
    deadline.check()
    if orientation != 1:
        base = base.transpose(_ORIENTATION[orientation])
    display = (inspected.width, inspected.height)
    full_size = _fit(display, FULL_SIZE, FULL_SIZE) or display
    full = _resize(base, full_size)
    del base
    deadline.check()

    animated = inspected.frames > 1 and width * height * inspected.frames <= limits.max_pixels
    rest, anim = (None, {})
    if animated:
        rest, anim = _frames(im, full_size, orientation, deadline)

    def both(name: str, pixels: Image.Image, frames=None, **extra) -> Iterator[Rendition]:
        mime_type, extension = _FORMATS[fmt]
        yield Rendition(
            name, *pixels.size, mime_type, extension, _encode(pixels, fmt, frames, **extra)
        )
        deadline.check()
        if fmt != "WEBP":
            mime_type, extension = _FORMATS["WEBP"]
            yield Rendition(
                name + WEBP_SUFFIX,
                *pixels.size,
                mime_type,
                extension,
                _encode(pixels, "WEBP", frames, **extra),
            )
            deadline.check()

    yield from both("full", full, rest, **anim)
    if full_only:
        return
    sized = _sizes(full, display, deadline)
    for name, *_ in SIZES:
        if name in sized:
            yield from both(name, sized[name])


def _source(made: list[Image.Image], width: int, height: int) -> Image.Image:
    """The smallest image already made that is at least twice the target both ways.

    Scaling 2048 from 2560, 1024 from 2048, 300 from 768... instead of everything
    from the full image roughly halves the resize time, and a 2x margin keeps
    Lanczos's quality.
    """
    fitting = [im for im in made if im.width >= 2 * width and im.height >= 2 * height]
    return min(fitting, key=lambda im: im.width * im.height) if fitting else made[0]


def _sizes(full: Image.Image, display: tuple[int, int], deadline: _Deadline) -> dict:
    """WordPress's intermediate sizes smaller than the original, by name."""
    made: list[Image.Image] = [full]
    sized: dict[str, Image.Image] = {}
    # Largest first, so that each can come from a larger one; the crop last.
    for name, max_w, max_h, crop in sorted(SIZES, key=lambda size: (size[3], -size[1])):
        if not _fit(display, max_w, max_h):
            continue
        if crop:
            box_w, box_h = min(max_w, full.width), min(max_h, full.height)
            pixels = _crop(_source(made, box_w, box_h), max_w, max_h)
        else:
            size = _fit(display, max_w, max_h)
            pixels = _resize(_source(made, *size), size)
        if pixels is not None:
            made.append(pixels)
            sized[name] = pixels
        deadline.check()
    return sized


def make_renditions(data: bytes, limits: Limits = Limits()) -> list[Rendition]:
    """Every version to serve, in the order and names described in the module docstring.

    Raises ImageRejected exactly when `inspect` would (and when processing runs past
    `limits.max_seconds`).
    """
    return _guarded(lambda: list(_renditions(data, limits)))


def make_full(data: bytes, limits: Limits = Limits()) -> list[Rendition]:
    """Only "full" and its WebP twin: what a page needs at once, without the other sizes."""
    return _guarded(lambda: list(_renditions(data, limits, full_only=True)))
