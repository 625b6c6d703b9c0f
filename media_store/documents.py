"""Files that are not images (PDF, audio, video, office documents, archives, plain text):
which we accept, decided by name *and* content, and how they are served.

Pure functions, no Django. Nothing here is re-encoded: the bytes are served as uploaded,
so what may be served is narrow. An extension must be on the list below and the bytes
must start as that type starts (its "magic number"); anything a browser could take for a
document of the site (HTML, SVG, XML, JavaScript, anything with markup at its start) is
refused, whatever its name. Files that a browser shows itself (PDF, audio, video) are
served inline; the rest as downloads (`Content-Disposition: attachment`), and all with
their exact type and `nosniff` (media_library/views.py, the nginx media location).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from media_store.polyglot import MARKUP, SNIFFED_BYTES


class DocumentRejected(ValueError):
    """Not a file we accept; the message is meant for the uploader."""


@dataclass(frozen=True)
class FileType:
    kind: str  # "document", "audio", "video", "archive"
    mime_type: str
    inline: bool  # a browser shows it itself; else it is offered as a download


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office files
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_MP4 = "ftyp"  # at offset 4


def _text(data: bytes) -> bool:
    if b"\0" in data[:SNIFFED_BYTES]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mp3(data: bytes) -> bool:
    return data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] >= 0xE0)


def _wave(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WAVE"


# extension -> (type, how its content must start)
TYPES: dict[str, tuple[FileType, object]] = {
    "pdf": (FileType("document", "application/pdf", True), (b"%PDF-",)),
    "doc": (FileType("document", "application/msword", False), (_OLE,)),
    "xls": (FileType("document", "application/vnd.ms-excel", False), (_OLE,)),
    "ppt": (FileType("document", "application/vnd.ms-powerpoint", False), (_OLE,)),
    "docx": (
        FileType(
            "document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            False,
        ),
        _ZIP,
    ),
    "xlsx": (
        FileType(
            "document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False
        ),
        _ZIP,
    ),
    "pptx": (
        FileType(
            "document",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            False,
        ),
        _ZIP,
    ),
    "odt": (FileType("document", "application/vnd.oasis.opendocument.text", False), _ZIP),
    "ods": (FileType("document", "application/vnd.oasis.opendocument.spreadsheet", False), _ZIP),
    "odp": (FileType("document", "application/vnd.oasis.opendocument.presentation", False), _ZIP),
    "epub": (FileType("document", "application/epub+zip", False), _ZIP),
    "txt": (FileType("document", "text/plain; charset=utf-8", False), _text),
    "csv": (FileType("document", "text/csv; charset=utf-8", False), _text),
    "zip": (FileType("archive", "application/zip", False), _ZIP),
    "gz": (FileType("archive", "application/gzip", False), (b"\x1f\x8b",)),
    "mp3": (FileType("audio", "audio/mpeg", True), _mp3),
    "m4a": (FileType("audio", "audio/mp4", True), _MP4),
    "ogg": (FileType("audio", "audio/ogg", True), (b"OggS",)),
    "oga": (FileType("audio", "audio/ogg", True), (b"OggS",)),
    "wav": (FileType("audio", "audio/wav", True), _wave),
    "flac": (FileType("audio", "audio/flac", True), (b"fLaC",)),
    "mp4": (FileType("video", "video/mp4", True), _MP4),
    "m4v": (FileType("video", "video/mp4", True), _MP4),
    "mov": (FileType("video", "video/quicktime", True), _MP4),
    "ogv": (FileType("video", "video/ogg", True), (b"OggS",)),
    "webm": (FileType("video", "video/webm", True), (b"\x1a\x45\xdf\xa3",)),
}
_EXTENSION = re.compile(r"^[a-z0-9]{1,5}$")


def _starts_right(data: bytes, rule) -> bool:
    if rule == _MP4:
        return data[4:8] == b"ftyp"
    if callable(rule):
        return rule(data)
    return data.startswith(tuple(rule))


def extension_of(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    return suffix if _EXTENSION.match(suffix) else ""


def is_document_name(name: str) -> bool:
    return extension_of(name) in TYPES


def inspect_document(name: str, data: bytes) -> tuple[FileType, str]:
    """(type, extension) of an upload that is not an image, or DocumentRejected."""
    extension = extension_of(name)
    entry = TYPES.get(extension)
    if entry is None:
        raise DocumentRejected(
            f"Files of this type ({extension or 'no extension'}) are not accepted."
        )
    file_type, rule = entry
    if not data:
        raise DocumentRejected("The file is empty.")
    if not _starts_right(data, rule):
        raise DocumentRejected(f"The file's content is not what a .{extension} file holds.")
    if MARKUP.search(data, 0, SNIFFED_BYTES):
        # A browser that ignored our type would take it for a page of the site.
        raise DocumentRejected("The file starts like a web page or a script; it is refused.")
    return file_type, extension


def content_type(name: str) -> FileType | None:
    """How a stored file is served, from its (our own) name."""
    entry = TYPES.get(extension_of(name))
    return entry[0] if entry else None
