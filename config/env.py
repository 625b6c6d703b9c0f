"""Small readers for the environment: every bad value names its variable.

Kept out of settings.py so that ops tooling and tests can parse the same
contract (DESIGN.md section 4) without importing Django settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker/systemd style)."""
    path = env_str(f"{name}_FILE")
    if path is not None:
        if env_str(name) is not None:
            raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return env_str(name, default)


def parse_database_url(name: str, url: str, base_dir: Path) -> dict:
    """Turn `sqlite:///var/db.sqlite3` or `mysql://user:pw@host:3306/db` into DATABASES[...]."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        raw = unquote(parts.path)
        if not raw or raw == "/":
            raise ImproperlyConfigured(f"{name} needs a file path, e.g. sqlite:///var/db.sqlite3")
        # sqlite:///relative (three slashes) is relative to the project; four is absolute.
        path = Path(raw[1:]) if raw.startswith("/") else Path(raw)
        if not path.is_absolute():
            path = base_dir / path
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    if parts.scheme in {"mysql", "mariadb"}:
        database = unquote(parts.path.lstrip("/"))
        if not database or not parts.hostname:
            raise ImproperlyConfigured(
                f"{name} must look like mysql://user:password@host:3306/name"
            )
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port") from None
        options: dict = {
            "charset": "utf8mb4",
            # Strict mode: MySQL must refuse, not truncate, bad data.
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
        for key, value in parse_qsl(parts.query):
            if key == "ssl_ca":
                options["ssl"] = {"ca": value}
            elif key == "connect_timeout":
                options["connect_timeout"] = int(value)
            else:
                raise ImproperlyConfigured(f"{name} has an unknown option {key!r}")
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname,
            "PORT": str(port or 3306),
            "OPTIONS": options,
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    raise ImproperlyConfigured(
        f"{name} must start with sqlite:// or mysql://, got {parts.scheme or url!r}"
    )
