"""Is there markup or program code in an image we are about to serve, where a reader finds it?

Two kinds of reader matter, and they look in different places:

- A browser sniffs a response's type only from its start (WHATWG MIME Sniffing: the
  "resource header", at most 1,445 bytes; HTML is recognised by a tag at the very start,
  after whitespace), and only when the Content-Type lets it: ours are exact and come with
  `nosniff`. Markup deep inside the compressed pixels is read by no browser.
- Tools show metadata (JPEG APPn and comment segments, PNG text chunks, WebP EXIF/XMP,
  GIF comments) as text, and a PHP `include` on some other server reads the whole file.

So HTML-like markup counts in the sniffed start and in metadata; PHP openers count
anywhere. Compressed pixels are random-looking bytes: a 3-byte `<?=` turns up by chance
in about one photo in a thousand (its renditions hold a few MB), which is why a hit makes
the encoder try other settings (images._encode) before the image is refused, and a
payload crafted for one encoder setting does not survive another.

Our encoders write no metadata; the segment walk is there so that a change that lets some
through is caught, and so that text there is never mistaken for pixels.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from dataclasses import dataclass

# How much of a response a browser may sniff (MIME Sniffing's resource header).
SNIFFED_BYTES = 1445
# IDAT chunk size when png_split_at_code re-chunks a PNG (what Pillow writes).
_IDAT_BYTES = 65536
# What must never be found where a browser or a tool reads it.
MARKUP = re.compile(
    rb"<\?(?:php|=)|<script|<svg|<html|<iframe|<body|javascript:|\$_(?:GET|POST|REQUEST|COOKIE)",
    re.IGNORECASE,
)
# What a PHP include runs, wherever in the file it is.
PHP = re.compile(rb"<\?(?:php|=)|\$_(?:GET|POST|REQUEST|COOKIE)", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    where: str  # "start", "metadata" or "body"
    text: bytes


def _jpeg_metadata(data: bytes) -> list[tuple[int, int]]:
    """APPn and COM segments (before and between scans); entropy-coded data is skipped."""
    spans, i, n = [], 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            # Inside entropy-coded data: the next marker is 0xFF not followed by 0x00 or RSTn.
            i = data.find(b"\xff", i + 1)
            if i < 0:
                break
            continue
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker == 0xD9:  # end of image
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            spans.append((i + 4, min(n, i + 2 + length)))
        i += 2 + length
    return spans


def _png_metadata(data: bytes) -> list[tuple[int, int]]:
    structural = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}
    spans, i, n = [], 8, len(data)
    while i + 8 <= n:
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        if kind not in structural:
            spans.append((i + 8, min(n, i + 8 + length)))
        i += 12 + length
    return spans


def _webp_metadata(data: bytes) -> list[tuple[int, int]]:
    structural = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}
    spans, i, n = [], 12, len(data)
    while i + 8 <= n:
        kind, length = struct.unpack("<4sI", data[i : i + 8])
        if kind not in structural:
            spans.append((i + 8, min(n, i + 8 + length)))
        i += 8 + length + (length & 1)
    return spans


def _gif_metadata(data: bytes) -> list[tuple[int, int]]:
    """Comment, plain-text and application extensions; image data and control blocks are not."""
    n = len(data)
    flags = data[10]
    i = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    spans = []

    def sub_blocks(j: int) -> int:
        while j < n and data[j]:
            j += 1 + data[j]
        return j + 1

    while i < n:
        block = data[i]
        if block == 0x3B:  # trailer
            break
        if block == 0x2C:  # an image: descriptor, local colour table, LZW data
            local = data[i + 9]
            i += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            i = sub_blocks(i + 1)
        elif block == 0x21:
            label, start = data[i + 1], i + 2
            i = sub_blocks(start)
            if label != 0xF9:  # the graphic control block holds only numbers
                spans.append((start, min(n, i)))
        else:
            raise ValueError("not a GIF block")
    return spans


def _box_metadata(data: bytes) -> list[tuple[int, int]]:
    """ISO base media (AVIF): every top-level box but the media data."""
    spans, i, n = [], 0, len(data)
    while i + 8 <= n:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[i + 8 : i + 16])
            header = 16
        elif size == 0:
            size = n - i
        if size < header:
            raise ValueError("bad box size")
        if kind != b"mdat":
            spans.append((i + header, min(n, i + size)))
        i += size
    return spans


_WALKERS = {
    "JPEG": _jpeg_metadata,
    "PNG": _png_metadata,
    "WEBP": _webp_metadata,
    "GIF": _gif_metadata,
    "AVIF": _box_metadata,
}


def metadata_spans(data: bytes, fmt: str) -> list[tuple[int, int]]:
    """Byte ranges of `data` that readers show as text; the whole file when it cannot be
    walked (an unknown format, or a structure we do not follow), so nothing is missed."""
    walker = _WALKERS.get(fmt)
    if walker is None:
        return [(0, len(data))]
    try:
        return walker(data)
    except (IndexError, ValueError, struct.error):
        return [(0, len(data))]


def find_code(data: bytes, fmt: str) -> Finding | None:
    """The first markup or code a browser or a tool would find in `data` (an image of
    Pillow format `fmt`), or None."""
    found = MARKUP.search(data, 0, SNIFFED_BYTES)
    if found:
        return Finding("start", found.group(0))
    for start, end in metadata_spans(data, fmt):
        found = MARKUP.search(data, start, end)
        if found:
            return Finding("metadata", found.group(0))
    found = PHP.search(data)
    if found:
        return Finding("body", found.group(0))
    return None


def _png_chunk(kind: bytes, body) -> list:
    """A chunk as pieces to join: `body` (a memoryview of the image data) is not copied."""
    crc = zlib.crc32(body, zlib.crc32(kind))
    return [struct.pack(">I", len(body)), kind, body, struct.pack(">I", crc)]


def png_split_at_code(data: bytes) -> bytes | None:
    """The same PNG with its image data re-chunked so that no chance match is contiguous.

    A PNG's pixels are one zlib stream that may be cut into IDAT chunks anywhere: a cut
    inside a `<?=` puts 12 bytes of chunk framing between its characters, and the decoded
    pixels stay exactly the same. Re-encoding with other settings costs as much as the
    first encode, and a large incompressible output (a 2560x2560 photo of noise is 20 MB)
    holds a chance `<?=` about once per encode, so retries alone could refuse it. None when
    the file is not a plain PNG whose image data can be cut, or when its pixels hold code
    no chance writes (the caller re-encodes then, and refuses what still shows code);
    the caller scans the result again, since the framing itself could complete a match.
    """
    # Memoryviews, and one copy of the image data: a noise rendition is 20 MB and two are
    # encoded at once under the upload's memory cap.
    view = memoryview(data)
    head, stream, tail, i, n = [], [], [], 8, len(data)
    try:
        while i + 12 <= n:
            length, kind = struct.unpack(">I4s", data[i : i + 8])
            if kind == b"IDAT":
                if tail:  # image data must be consecutive; this file is not ours
                    return None
                stream.append(view[i + 8 : i + 8 + length])
            else:
                (tail if stream else head).append(view[i : i + 12 + length])
            i += 12 + length
    except struct.error:
        return None
    if not stream or i != n:
        return None
    pixels = b"".join(stream)
    php = list(PHP.finditer(pixels))
    if any(m.group(0) != b"<?=" for m in php):
        # `<?php` or `$_GET` (5+ bytes) does not happen by chance (about once in 10^11
        # bytes): a file crafted so that its pixels spell code is refused, not mended.
        return None
    cuts = {m.start() + 1 for m in MARKUP.finditer(pixels)} | {m.start() + 1 for m in php}
    if not cuts:
        return None
    bounds = sorted(cuts | set(range(0, len(pixels), _IDAT_BYTES)) | {len(pixels)})
    pieces = memoryview(pixels)
    parts = [view[:8], *head]
    for start, end in itertools.pairwise(bounds):
        parts += _png_chunk(b"IDAT", pieces[start:end])
    return b"".join([*parts, *tail])
