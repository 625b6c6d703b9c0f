"""The image pipeline's rules: sizes and names, orientation, colour, limits, animation."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib

import pytest
from PIL import Image, ImageCms, ImageStat

from media_store.images import ImageRejected, Limits, inspect, make_renditions
from tests.conftest import corpus


def _jpeg(width: int, height: int, **save) -> bytes:
    im = Image.new("RGB", (width, height), (200, 120, 40))
    im.paste((20, 60, 220), (0, 0, width // 2, height))  # left half blue
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size and holds no pixels: enough to trip size checks."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _sizes(renditions) -> dict[str, tuple[int, int]]:
    return {r.name: (r.width, r.height) for r in renditions}


def test_a_large_photo_gets_every_wordpress_size_and_a_webp_of_each():
    renditions = make_renditions(_jpeg(3000, 2000))

    assert [r.name for r in renditions] == [
        "full", "full-webp", "thumbnail", "thumbnail-webp", "medium", "medium-webp",
        "medium_large", "medium_large-webp", "large", "large-webp",
        "1536x1536", "1536x1536-webp", "2048x2048", "2048x2048-webp",
    ]  # fmt: skip
    assert _sizes(renditions) | {} == {
        **{name: size for name, size in _sizes(renditions).items() if name.endswith("-webp")},
        "full": (2560, 1707),
        "thumbnail": (150, 150),
        "medium": (300, 200),
        "medium_large": (768, 512),
        "large": (1024, 683),
        "1536x1536": (1536, 1024),
        "2048x2048": (2048, 1365),
    }
    for rendition in renditions:
        twin = "-webp" in rendition.name
        assert rendition.mime_type == ("image/webp" if twin else "image/jpeg")
        assert rendition.extension == ("webp" if twin else "jpg")
        assert Image.open(io.BytesIO(rendition.data)).size == (rendition.width, rendition.height)


def test_only_sizes_smaller_than_the_original_are_made():
    renditions = make_renditions(_jpeg(200, 100))

    assert _sizes(renditions) == {
        "full": (200, 100),
        "full-webp": (200, 100),
        "thumbnail": (150, 100),
        "thumbnail-webp": (150, 100),
    }


def test_a_webp_original_has_no_webp_twins():
    data = corpus("images", "pillow", "flower.webp").read_bytes()

    names = [r.name for r in make_renditions(data)]

    assert names == ["full", "thumbnail", "medium"]


def test_the_same_upload_gives_byte_identical_renditions():
    data = _jpeg(1200, 900)

    first, second = make_renditions(data), make_renditions(data)

    assert [r.data for r in first] == [r.data for r in second]


def test_exif_orientation_is_applied_and_then_dropped():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    data = _jpeg(400, 200, exif=exif.tobytes())

    inspected = inspect(data)
    full = Image.open(io.BytesIO(make_renditions(data)[0].data))

    assert (inspected.width, inspected.height) == (200, 400)
    assert full.size == (200, 400)
    assert len(full.getexif()) == 0
    # The blue left half of the stored pixels is the top half once turned.
    top, bottom = full.getpixel((100, 50)), full.getpixel((100, 350))
    assert top[2] > 150 and bottom[0] > 150


def test_colours_are_converted_to_srgb_and_the_profile_dropped():
    adobe_like = corpus("images", "pillow", "icc_profile_big.jpg").read_bytes()
    source = Image.open(io.BytesIO(adobe_like))
    assert source.info.get("icc_profile")
    expected = ImageCms.profileToProfile(
        source.convert("RGB") if source.mode not in ("RGB", "CMYK") else source,
        ImageCms.ImageCmsProfile(io.BytesIO(source.info["icc_profile"])),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        outputMode="RGB",
    )

    full = make_renditions(adobe_like)[0]
    out = Image.open(io.BytesIO(full.data))

    assert "icc_profile" not in out.info
    assert out.size == expected.size
    # JPEG is lossy: compare a mean colour, not pixels.
    mean = ImageStat.Stat(out.convert("RGB")).mean
    want = ImageStat.Stat(expected).mean
    assert all(abs(a - b) < 3 for a, b in zip(mean, want, strict=True)), (mean, want)
    # ...and the profile made a difference: ignoring it would be visibly off.
    naive = ImageStat.Stat(source.convert("RGB")).mean
    assert max(abs(a - b) for a, b in zip(naive, want, strict=True)) > 10


def test_animation_is_kept_in_full_and_still_in_smaller_sizes():
    data = corpus("images", "pillow", "iss634.gif").read_bytes()
    source = Image.open(io.BytesIO(data))

    renditions = {r.name: r for r in make_renditions(data)}

    for name in ("full", "full-webp"):
        out = Image.open(io.BytesIO(renditions[name].data))
        assert out.n_frames == source.n_frames
        assert out.info.get("loop", 0) == source.info.get("loop", 0)
    assert Image.open(io.BytesIO(renditions["thumbnail"].data)).n_frames == 1


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (b"", Limits(), "The file is empty."),
        (b"x" * 2000, Limits(max_bytes=1000), "The file is 0.0 MB; the limit is 0.001 MB."),
        (
            _png_header_only(8000, 8000),
            Limits(),
            "8000x8000 pixels (64.0 megapixels); the limit is 50",
        ),
        (_png_header_only(100, 100), Limits(max_pixels=5000), "the limit is 0.005 megapixels"),
        (_jpeg(300, 300)[:400], Limits(), "damaged or truncated"),
        (b"<?php system($_GET['c']); ?>", Limits(), "upload a JPEG, PNG, GIF, WebP"),
        (b"%PDF-1.7\n", Limits(), "not an image we accept"),
    ],
    ids=["empty", "bytes", "pixels", "pixels-configured", "damaged", "php", "pdf"],
)
def test_bad_uploads_are_refused_with_a_clear_message(data, limits, message):
    with pytest.raises(ImageRejected, match=re.escape(message)):
        inspect(data, limits)


def test_a_decompression_bomb_warning_is_an_error_even_under_a_high_pixel_limit():
    # 10000 x 10000 is above Pillow's warning threshold (89.5 MP), below its error.
    with pytest.raises(ImageRejected, match="too many pixels"):
        inspect(_png_header_only(10000, 10000), Limits(max_pixels=500_000_000))


def test_too_many_animation_frames_are_refused():
    data = corpus("images", "pillow", "iss634.gif").read_bytes()

    with pytest.raises(
        ImageRejected, match=re.escape("The animation has 42 frames; the limit is 10.")
    ):
        make_renditions(data, Limits(max_frames=10))


def test_processing_past_the_time_bound_is_refused():
    with pytest.raises(ImageRejected, match="longer than 1e-06 seconds"):
        make_renditions(_jpeg(3000, 2000), Limits(max_seconds=0.000001))


def test_the_type_is_decided_by_content_not_by_name_or_claim():
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, "PNG")

    inspected = inspect(png.getvalue())

    assert (inspected.format, inspected.mime_type, inspected.extension) == (
        "PNG",
        "image/png",
        "png",
    )


def test_inspect_reports_the_upload_hash():
    data = _jpeg(50, 40)

    assert inspect(data).sha256 == hashlib.sha256(data).hexdigest()
    assert inspect(data).frames == 1
