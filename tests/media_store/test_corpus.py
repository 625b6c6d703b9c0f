"""Every image in the shared corpora goes through inspect + make_renditions.

Each file is either refused with a clear message, or accepted and every served byte
is re-encoded pixels: no payload and nothing of the input's metadata survives.
"""

from __future__ import annotations

import io
import re
import time
import warnings

import pytest
from PIL import Image

from media_store.images import ImageRejected, Limits, inspect, make_renditions
from tests.conftest import CORPORA, corpus

FOLDERS = ("images/pillow", "images/payloads")
# What an attacker hides in an image for PHP includes or browsers to find.
PAYLOAD_MARKERS = (
    b"<?php", b"<?=", b"<script", b"system(", b"phpinfo", b"eval(", b"passthru",
    b"onerror", b"onload", b"onclick", b"onmouseover", b"alert(", b"javascript:",
    b"<svg", b"<html", b"$_GET", b"$_POST", b"exiftool",
)  # fmt: skip
# Metadata keys Pillow exposes that must never come back from a served file.
METADATA_KEYS = {
    "exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop",
    "extension", "Raw profile type exif", "Raw profile type APP1",
}  # fmt: skip
# Printable runs this long from the input's metadata must not appear in any output.
RUN = re.compile(rb"[\x20-\x7e]{8,}")
TIME_BOUND = Limits().max_seconds


def _files() -> list:
    found = [
        pytest.param(path, id=f"{folder.split('/')[-1]}/{path.name}")
        for folder in FOLDERS
        if (CORPORA / folder).is_dir()
        for path in sorted((CORPORA / folder).iterdir())
        if path.is_file()
    ]
    return found or [pytest.param(None, id="corpora-absent")]


def _input_metadata(data: bytes) -> list[bytes]:
    """The input's metadata, read permissively (any format Pillow knows)."""
    values: list[bytes] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
            items = list(im.info.items()) + list(getattr(im, "text", {}).items())
            for _marker, segment in getattr(im, "applist", []):
                items.append(("app", segment))
    except Exception:
        return values
    for key, value in items:
        if key in ("icc_profile",):
            continue  # profile tables hold generic strings (device names) also in outputs
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        if isinstance(value, bytes):
            values.append(value)
    return values


def _assert_clean(output: bytes, markers: list[bytes], runs: set[bytes], label: str) -> None:
    lowered = output.lower()
    for marker in markers:
        assert marker.lower() not in lowered, f"{label}: payload {marker!r} survived"
    for run in runs:
        assert run not in output, f"{label}: input metadata {run[:40]!r} survived"


def _assert_no_metadata(rendition) -> None:
    im = Image.open(io.BytesIO(rendition.data))
    assert Image.MIME[im.format] == rendition.mime_type
    assert im.size == (rendition.width, rendition.height)
    keys = set(im.info)
    if im.format == "GIF" and im.info.get("extension", (b"",))[0] == b"NETSCAPE2.0":
        keys.discard("extension")  # the application extension that carries the loop count
    assert not (METADATA_KEYS & keys), f"{rendition.name}: {keys}"
    assert len(im.getexif()) == 0
    assert not getattr(im, "text", {}), rendition.name
    for marker, segment in getattr(im, "applist", []):
        # A JPEG keeps only its JFIF header: no EXIF/XMP (APP1), ICC (APP2), Adobe...
        assert marker == "APP0" and segment.startswith(b"JFIF"), (marker, segment[:20])
    im.load()


@pytest.mark.parametrize("path", _files())
def test_every_corpus_image_is_refused_clearly_or_served_clean(path):
    if path is None:
        corpus(*FOLDERS[0].split("/"))
    data = path.read_bytes()
    started = time.monotonic()
    inspected = None
    try:
        inspected = inspect(data)
        renditions = make_renditions(data)
    except ImageRejected as exc:
        message = str(exc)
        assert message.endswith(".") and 10 < len(message) < 200, message
        assert "Traceback" not in message and "Error" not in message
        if inspected is None:
            with pytest.raises(ImageRejected, match=re.escape(message)):
                make_renditions(data)
        assert time.monotonic() - started < TIME_BOUND
        return
    assert time.monotonic() - started < TIME_BOUND

    assert renditions[0].name == "full"
    assert (renditions[0].width, renditions[0].height) == (
        min(
            inspected.width,
            round(inspected.width * min(1, 2560 / max(inspected.width, inspected.height))),
        ),
        min(
            inspected.height,
            round(inspected.height * min(1, 2560 / max(inspected.width, inspected.height))),
        ),
    )
    markers = [marker for marker in PAYLOAD_MARKERS if marker.lower() in data.lower()]
    runs = {run for value in _input_metadata(data) for run in RUN.findall(value)}
    for rendition in renditions:
        _assert_clean(rendition.data, markers, runs, f"{path.name}/{rendition.name}")
        _assert_no_metadata(rendition)
