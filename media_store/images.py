"""The image pipeline: validate an upload, then make the clean versions that are served.

Pure functions, bytes in, bytes and metadata out; no Django, no files, no ORM.

- `inspect(data)` (media_store/decode.py) decides by content (an explicit Pillow format
  allowlist, never the name or the Content-Type) whether the bytes are an image we
  accept, within `Limits`, and raises `ImageRejected` with a message meant for the
  uploader otherwise.
- `make_renditions(data)` returns every version that may be served; `make_full(data)`
  only the first two ("full" and its WebP twin), what an upload request needs. Nothing
  of the uploaded file is copied through: each output is re-encoded from pixels, with EXIF
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

import io
import logging
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageCms

from media_store.decode import (
    DEFAULT_LIMITS,
    FORMATS,
    FULL_SIZE,
    ORIENTATION,
    Deadline,
    ImageRejected,
    Inspected,
    Limits,
    accepted_formats,
    decode,
    exif_orientation,
    guarded,
    inspect,
    open_checked,
)
from media_store.polyglot import find_code, png_split_at_code

# The pipeline's door: callers import these from here, decode.py included.
__all__ = [
    "SIZES",
    "WEBP_SUFFIX",
    "ImageRejected",
    "Inspected",
    "Limits",
    "Rendition",
    "accepted_formats",
    "inspect",
    "make_full",
    "make_renditions",
    "process",
]

logger = logging.getLogger(__name__)

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

# JPEG quality 82 is WordPress's default; WebP 80 is close in size and look. WebP method 1:
# on the photos the same PSNR as method 2 (within 0.1 dB) and sizes within 10%, and on
# noise (what a crafted upload is made of) 26% less CPU (bench/README.md). PNG at zlib
# level 1 with the run-length strategy: pages serve the WebP twin (`<picture>`), the PNG
# is the fallback and the download, so its encoding time counts more than its size. RLE
# after PNG's row filters is faster than level 1's default strategy (a third less CPU on
# noise) and a photo's 2560x2560 PNG is a fifth smaller; the corpus's drawings grow 5%.
_SAVE_OPTIONS = {
    "JPEG": {"quality": 82, "progressive": True, "optimize": False},
    "PNG": {"compress_level": 1, "compress_type": zlib.Z_RLE},
    "GIF": {},
    "WEBP": {"quality": 80, "method": 1},
    "AVIF": {"quality": 70, "speed": 8},
}
# When an output shows code (media_store/polyglot.py), a PNG is first re-chunked around the
# match (polyglot.png_split_at_code: the same bytes of compressed pixels, cut apart), then
# other settings give other bytes.
# Lossless formats can reproduce pixel-borne payloads byte for byte; fastest first: a 1 MB
# PNG holds a chance `<?=` about one time in sixteen, and level 9 on the 41-frame APNG of
# the corpus cost 1.5 s where level 1 costs 0.1 s; on a noisy 2560x2560 image level 9
# takes 3.8 s, levels 1 and 2 under 0.5 s. Lossy outputs hold a chance `<?=` in their
# entropy-coded bytes about once per thousand photos: a baseline (not progressive) JPEG
# or another WebP method decodes to the same look with entirely different bytes.
_RETRY_OPTIONS = {
    "PNG": (
        {"compress_level": 2},
        {"compress_level": 9},
        {"optimize": True},
    ),
    "JPEG": (
        {"quality": 82, "progressive": False, "optimize": False},
        {"quality": 82, "progressive": True, "optimize": True},
        {"quality": 81, "progressive": True, "optimize": False},
    ),
    "WEBP": (
        {"quality": 80, "method": 0},
        {"quality": 80, "method": 2},
        {"quality": 79, "method": 1},
    ),
    "GIF": ({"optimize": True},),
    "AVIF": ({"quality": 69, "speed": 8},),
}


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    mime_type: str
    extension: str
    data: bytes


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


# --- Pixels ---------------------------------------------------------------------------


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    )


def _to_srgb(im: Image.Image) -> Image.Image:
    """RGB or RGBA pixels in sRGB.

    An image already in the right mode without a profile comes back as itself, `info`
    and all (a copy of a 16.8 MP photo is 67 MB and 0.1 s for nothing): every caller
    resizes, crops or transposes it, and `_resize`/`_crop` clear `info` on what they make.
    """
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
        if im.mode == mode:
            return im
        out = im.convert(mode)
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
    Every output is scanned where a browser or a tool would find code
    (media_store/polyglot.py); a PNG's hit is first cut apart by re-chunking its image
    data, any other is re-encoded with other settings, and refused when code still shows.
    """
    if fmt == "JPEG" and im.mode != "RGB":
        im = im.convert("RGB")
    im.info = {}
    for options in (_SAVE_OPTIONS[fmt], *_RETRY_OPTIONS.get(fmt, ())):
        data = _encode_once(im, fmt, frames, options, anim)
        found = find_code(data, fmt)
        if found is None:
            return data
        if fmt == "PNG" and not frames:
            split = png_split_at_code(data)
            if split is not None and find_code(split, fmt) is None:
                return split
        logger.info("re-encoding: %s output has %r in its %s", fmt, found.text, found.where)
    raise ImageRejected(
        "The image's pixels hide text that looks like program code (a polyglot file); "
        "it is refused."
    )


def _frames(im: Image.Image, size: tuple[int, int], orientation: int, deadline: Deadline):
    """Every frame after the first, oriented and resized, with durations and loop count."""
    durations = []
    rest = []
    for index in range(im.n_frames):
        im.seek(index)
        durations.append(int(im.info.get("duration", 100) or 100))
        if index:
            frame = _to_srgb(im)
            if orientation != 1:
                frame = frame.transpose(ORIENTATION[orientation])
            rest.append(_resize(frame, size))
            deadline.check()
    loop = im.info.get("loop", 0)
    im.seek(0)
    return rest, {"duration": durations, "loop": int(loop) if loop is not None else 0}


# Modes Image.reduce averages correctly (a palette's indices cannot be averaged).
_REDUCIBLE = ("L", "LA", "RGB", "RGBA")


def _prescaled(im: Image.Image) -> Image.Image:
    """The decoded image in sRGB, first reduced by the largest whole factor that keeps it
    at least as large as the "full" image.

    What `Image.draft` does for a JPEG while decoding, done after decoding for the
    formats that cannot decode at a smaller scale: a 6000x6000 PNG becomes 3000x3000 by
    averaging 2x2 blocks (about 0.03 s) before its colours are converted and Lanczos
    scales it to 2560, instead of converting and filtering all 36 megapixels (0.8 s of
    CPU and 144 MB more on this machine).
    """
    width, height = im.size
    target = _fit((width, height), FULL_SIZE, FULL_SIZE)
    factor = min(width // target[0], height // target[1]) if target else 1
    if factor < 2:
        return _to_srgb(im)
    # A transparent colour key (tRNS on RGB or grey) must be matched before averaging.
    if im.mode in _REDUCIBLE and "transparency" not in im.info:
        return _to_srgb(im.reduce(factor))
    base = _to_srgb(im)
    return base.reduce(factor)


def _decoded(data: bytes, limits: Limits, deadline: Deadline):
    """One decode for every output: (oriented sRGB full image, decoded image, Inspected)."""
    first = open_checked(data, limits)
    draft = None
    if first.format == "JPEG":
        # A JPEG's EXIF precedes its pixels; the draft box is in file orientation, the
        # full size in display orientation.
        width, height = first.size
        full_size = _fit((width, height), FULL_SIZE, FULL_SIZE) or (width, height)
        transposed = exif_orientation(first) in (5, 6, 7, 8)
        draft = (full_size[1], full_size[0]) if transposed else full_size
    im, inspected = decode(data, limits, deadline, draft)
    orientation = exif_orientation(im)

    base = _prescaled(im)
    deadline.check()
    if orientation != 1:
        base = base.transpose(ORIENTATION[orientation])
    display = (inspected.width, inspected.height)
    full = _resize(base, _fit(display, FULL_SIZE, FULL_SIZE) or display)
    del base
    deadline.check()
    return full, im, inspected, orientation


def _process(data: bytes, limits: Limits, full_only: bool) -> tuple[Inspected, list[Rendition]]:
    deadline = Deadline(limits.max_seconds)
    full, im, inspected, orientation = _decoded(data, limits, deadline)
    fmt = inspected.format
    animated = inspected.frames > 1 and im.width * im.height * inspected.frames <= limits.max_pixels
    rest, anim = _frames(im, full.size, orientation, deadline) if animated else (None, {})
    targets = [(fmt, *FORMATS[fmt], "")]
    if fmt != "WEBP":
        targets.append(("WEBP", *FORMATS["WEBP"], WEBP_SUFFIX))

    # Encoders release the GIL: the next size is resized while this one is encoded, and
    # two sizes are encoded side by side. One size's formats are encoded one after the
    # other: Pillow keeps a save's options on the image object. Animations stay serial
    # (their frames are shared). Order and bytes do not depend on the threads.
    def encode_all(pixels: Image.Image, frames, extra) -> list[bytes]:
        return [_encode(pixels, target, frames, **extra) for target, *_ in targets]

    with ThreadPoolExecutor(max_workers=2 if rest is None else 1) as pool:
        pending = []

        def both(name: str, pixels: Image.Image, frames=None, **extra) -> None:
            pending.append((name, pixels.size, pool.submit(encode_all, pixels, frames, extra)))

        both("full", full, rest, **anim)
        if not full_only:
            sized = _sizes(full, (inspected.width, inspected.height), deadline)
            for name, *_ in SIZES:
                if name in sized:
                    both(name, sized[name])
        made = []
        for name, size, encoded in pending:
            for (_, mime_type, extension, suffix), data in zip(
                targets, encoded.result(), strict=True
            ):
                made.append(Rendition(name + suffix, *size, mime_type, extension, data))
            deadline.check()
    return inspected, made


def _source(made: list[Image.Image], width: int, height: int) -> Image.Image:
    """The smallest image already made that is at least twice the target both ways.

    Scaling 2048 from 2560, 1024 from 2048, 300 from 768... instead of everything
    from the full image roughly halves the resize time, and a 2x margin keeps
    Lanczos's quality.
    """
    fitting = [im for im in made if im.width >= 2 * width and im.height >= 2 * height]
    return min(fitting, key=lambda im: im.width * im.height) if fitting else made[0]


def _sizes(full: Image.Image, display: tuple[int, int], deadline: Deadline) -> dict:
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


def process(
    data: bytes, limits: Limits = DEFAULT_LIMITS, *, full_only: bool = False
) -> tuple[Inspected, list[Rendition]]:
    """Validate and make every version to serve from one decode: (Inspected, renditions).

    Raises ImageRejected exactly when `inspect` would (and when processing runs past
    `limits.max_seconds`, checked between steps: media_store.bounded stops it mid-step).
    `full_only` makes only "full" and its WebP twin.
    """
    return guarded(_process, data, limits, full_only)


def make_renditions(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Rendition]:
    """Every version to serve, in the order and names described in the module docstring."""
    return process(data, limits)[1]


def make_full(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Rendition]:
    """Only "full" and its WebP twin: what a page needs at once, without the other sizes."""
    return process(data, limits, full_only=True)[1]
