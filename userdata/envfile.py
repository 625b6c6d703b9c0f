"""KEY="value" files that systemd's EnvironmentFile= and a POSIX shell read the same way.

Inside double quotes both treat a backslash before one of  \\ " ` $  as escaping it and
keep any other backslash; neither can carry a newline portably, so one is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPED = '\\"`$'


class EnvFileError(ValueError):
    pass


def quote(name: str, value: str) -> str:
    if not NAME.match(name):
        raise EnvFileError(f"{name!r} is not a valid environment variable name")
    if any(ord(char) < 32 and char != "\t" for char in value):
        raise EnvFileError(f"the value of {name} contains a newline or control character")
    escaped = "".join("\\" + char if char in _ESCAPED else char for char in value)
    return f'{name}="{escaped}"'


def dumps(values: dict[str, str]) -> str:
    return "".join(quote(name, values[name]) + "\n" for name in sorted(values))


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        return raw
    out, chars, i = [], raw[1:-1], 0
    while i < len(chars):
        if chars[i] == "\\" and i + 1 < len(chars) and chars[i + 1] in _ESCAPED:
            out.append(chars[i + 1])
            i += 2
        else:
            out.append(chars[i])
            i += 1
    return "".join(out)


def loads(text: str) -> dict[str, str]:
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, sep, raw = line.partition("=")
        if not sep or not NAME.match(name.strip()):
            raise EnvFileError(f"line {number}: expected NAME=value")
        values[name.strip()] = _unquote(raw.strip())
    return values


def read(path: Path) -> dict[str, str]:
    return loads(path.read_text())


def write_private(path: Path, values: dict[str, str]) -> None:
    """Write atomically, readable by the owner only from the first byte on."""
    content = dumps(values)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
