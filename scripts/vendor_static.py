#!/usr/bin/env python3
"""Put the admin's third-party JavaScript and CSS under static/vendor/, from the npm registry.

`make run` needs no Node and no build step, so the files are committed; this script is how
they got there and how they are upgraded. Each package is pinned to a version and to the
registry's sha512 of its tarball; a tarball that does not match is refused and nothing is
written. Only the files listed are copied, always with the package's licence.

    python3 scripts/vendor_static.py           # fetch what is missing
    python3 scripts/vendor_static.py --check   # exit 1 when a pinned file is missing

To upgrade: change the version and the integrity (`npm view NAME@VERSION dist.integrity`),
run the script, delete the old folder, and update the paths in blog/admin_editor.py.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    integrity: str  # the registry's dist.integrity: "sha512-<base64>"
    files: tuple[str, ...]  # paths inside the tarball's package/ folder

    @property
    def folder(self) -> Path:
        return VENDOR / f"{self.name}-{self.version}"

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name}-{self.version}.tgz"


PINS = (
    # The Markdown editor: CodeMirror 5 with a toolbar, shortcuts, drop and paste hooks.
    Pin(
        "easymde",
        "2.21.0",
        "sha512-5uE7I/DEN8gvGRwxaqAv7h1PMEK2ykNXVX5zL0dK3nCYROGja3AMbdQz8eCEELnfvCfy7tRkTmLuvyJG8uSWjQ==",
        ("LICENSE", "dist/easymde.min.js", "dist/easymde.min.css"),
    ),
    # The toolbar's icons: Font Awesome 4.7's class names, which EasyMDE uses, with a
    # licence file in the package (Font Awesome 4.7's own package has none).
    Pin(
        "fork-awesome",
        "1.2.0",
        "sha512-MNwTBnnudMIweHfDtTY8TeR5fxIAZ2w9o8ITn5XDySqdxa4k5AH8IuAMa89RVxDxgPNlosZxqkFKN5UmHXuYSw==",
        (
            "LICENSES",
            "css/fork-awesome.min.css",
            # The stylesheet names every format and its source map; collectstatic's
            # manifest storage refuses a stylesheet whose references are missing.
            "css/fork-awesome.min.css.map",
            *(f"fonts/forkawesome-webfont.{ext}" for ext in ("woff2", "woff", "ttf", "eot", "svg")),
        ),
    ),
)


def _verify(pin: Pin, data: bytes) -> None:
    algorithm, _, expected = pin.integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{pin.name}@{pin.version}: integrity mismatch, got {algorithm}-{actual}")


def fetch(pin: Pin) -> None:
    with urllib.request.urlopen(pin.tarball, timeout=60) as response:  # noqa: S310 (https, pinned)
        data = response.read()
    _verify(pin, data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = {m.name.removeprefix("package/"): m for m in archive.getmembers() if m.isfile()}
        missing = [f for f in pin.files if f not in members]
        if missing:
            raise SystemExit(f"{pin.name}@{pin.version}: not in the tarball: {missing}")
        for name in pin.files:
            target = pin.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.extractfile(members[name]).read())
    print(f"vendored {pin.name}@{pin.version} into {pin.folder.relative_to(VENDOR.parent.parent)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every file is there")
    args = parser.parse_args(argv)
    absent = [p for p in PINS if not all((p.folder / f).is_file() for f in p.files)]
    if args.check:
        for pin in absent:
            print(f"missing: {pin.name}@{pin.version}", file=sys.stderr)
        return 1 if absent else 0
    for pin in absent:
        fetch(pin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
