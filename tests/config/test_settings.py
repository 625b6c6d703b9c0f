"""Settings come from the environment (DESIGN.md section 4): a bad value stops the start
with a message that names the variable, and a production-like environment passes
`check --deploy`.

Each case starts a fresh interpreter, because settings are read once per process.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import parse_database_url

REPO = Path(__file__).resolve().parents[2]
SETUP = "import django; django.setup(); from django.conf import settings; print(settings.{})"
# Variables of the configuration contract: the test run's own values must not leak in.
CONTRACT_PREFIXES = (
    "DJANGO_", "DATABASE_", "REDIS_", "SESSION_", "MEDIA_", "TASKS_", "WORKER_", "CLOUDBLOG_",
    "SECURE_", "CSRF_", "POSTS_", "COMMENT_", "TRASH_", "TRUSTED_", "LOG_LEVEL", "CACHE_",
    "STATIC_", "EMAIL_", "SITE_", "CSP_", "LOGIN_",
)  # fmt: skip


def _env(tmp_path: Path, changes: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONTRACT_PREFIXES)}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["CLOUDBLOG_VAR_DIR"] = str(tmp_path / "var")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/db.sqlite3"
    env.update(changes)
    return env


def start(tmp_path: Path, show: str = "DEBUG", **changes: str) -> subprocess.CompletedProcess:
    """Start Django in a new interpreter with `changes` in the environment; print one setting."""
    return subprocess.run(
        [sys.executable, "-c", SETUP.format(show)],
        cwd=REPO,
        env=_env(tmp_path, changes),
        capture_output=True,
        text=True,
        timeout=60,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, f"expected a failed start, got:\n{result.stdout}"
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: "), result.stderr
    return last


def production_key() -> str:
    return secrets.token_urlsafe(60)


# --- A bad value names its variable -------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"DATABASE_URL": "postgres://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://blog@db.internal/"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://blog@db.internal:99999/blog"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://blog@db.internal/blog?sslmode=on"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite://"}, "DATABASE_URL"),
        ({"POSTS_PER_PAGE": "abc"}, "POSTS_PER_PAGE"),
        ({"POSTS_PER_PAGE": "0"}, "POSTS_PER_PAGE"),
        ({"TRASH_DAYS": "-3"}, "TRASH_DAYS"),
        ({"SESSION_STORE": "memory"}, "SESSION_STORE"),
        ({"SESSION_STORE": "cache"}, "REDIS_URL"),
        ({"REDIS_URL": "http://cache.internal:6379"}, "REDIS_URL"),
        ({"MEDIA_BACKEND": "ftp"}, "MEDIA_BACKEND"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DJANGO_DEBUG": "false"}, "DJANGO_SECRET_KEY"),
        ({"SESSION_STORE": "signed_cookies"}, "DJANGO_SECRET_KEY"),
        ({"SITE_URL": "blog.example.com"}, "SITE_URL"),
        ({"SITE_URL": "https://blog.example.com/blog"}, "SITE_URL"),
        ({"SITEMAP_REFRESH_SECONDS": "-1"}, "SITEMAP_REFRESH_SECONDS"),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
    ),
)
def test_a_bad_setting_stops_the_start_and_names_the_variable(tmp_path, changes, named):
    assert named in error_line(start(tmp_path, **changes))


def test_the_value_given_is_quoted_back(tmp_path):
    line = error_line(start(tmp_path, POSTS_PER_PAGE="abc"))

    assert "'abc'" in line


def test_defaults_give_a_working_debug_site(tmp_path):
    result = start(tmp_path, show="DATABASES['default']['ENGINE']")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_signed_cookie_sessions_work_with_a_real_key(tmp_path):
    result = start(
        tmp_path, show="SESSION_ENGINE", SESSION_STORE="signed_cookies", DJANGO_SECRET_KEY="k" * 60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.contrib.sessions.backends.signed_cookies"


# --- Secrets from files ------------------------------------------------------------


def test_secret_key_can_come_from_a_file(tmp_path):
    key = production_key()
    key_file = tmp_path / "secret_key"
    key_file.write_text(key + "\n")

    result = start(
        tmp_path, show="SECRET_KEY", DJANGO_DEBUG="false", DJANGO_SECRET_KEY_FILE=str(key_file)
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key


def test_a_missing_secret_key_file_is_named(tmp_path):
    missing = tmp_path / "no-such-secret"

    line = error_line(start(tmp_path, DJANGO_SECRET_KEY_FILE=str(missing)))

    assert "DJANGO_SECRET_KEY_FILE" in line
    assert str(missing) in line


def test_a_secret_key_and_its_file_together_are_refused(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(production_key())

    line = error_line(
        start(tmp_path, DJANGO_SECRET_KEY="k" * 60, DJANGO_SECRET_KEY_FILE=str(key_file))
    )

    assert "DJANGO_SECRET_KEY_FILE" in line


# --- parse_database_url --------------------------------------------------------------


def test_sqlite_url_with_three_slashes_is_relative_to_the_project():
    config = parse_database_url("DATABASE_URL", "sqlite:///var/db.sqlite3", Path("/srv/blog"))

    assert config == {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/blog/var/db.sqlite3"}


def test_sqlite_url_with_four_slashes_is_absolute():
    config = parse_database_url("DATABASE_URL", "sqlite:////data/blog.db", Path("/srv/blog"))

    assert config["NAME"] == "/data/blog.db"


def test_mysql_url_unquotes_the_password_and_keeps_the_port():
    url = "mysql://blog:p%40ss%3Aword@writer.cluster.internal:3307/cloudblog"

    config = parse_database_url("DATABASE_URL", url, Path("/srv/blog"))

    assert config["ENGINE"] == "django.db.backends.mysql"
    assert config["USER"] == "blog"
    assert config["PASSWORD"] == "p@ss:word"
    assert config["HOST"] == "writer.cluster.internal"
    assert config["PORT"] == "3307"
    assert config["NAME"] == "cloudblog"
    assert config["OPTIONS"]["charset"] == "utf8mb4"


def test_mysql_url_defaults_to_port_3306_and_reads_options():
    url = "mariadb://root@127.0.0.1/blog?ssl_ca=/etc/rds-ca.pem&connect_timeout=5"

    config = parse_database_url("DATABASE_URL", url, Path("/srv/blog"))

    assert config["PORT"] == "3306"
    assert config["PASSWORD"] == ""
    assert config["OPTIONS"]["ssl"] == {"ca": "/etc/rds-ca.pem"}
    assert config["OPTIONS"]["connect_timeout"] == 5


@pytest.mark.parametrize(
    "url",
    ["postgres://x", "mysql://", "mysql://h/", "mysql://h:port/db", "sqlite://", "mysql://h/d?x=1"],
)
def test_parse_database_url_names_the_variable_on_bad_urls(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL"):
        parse_database_url("DATABASE_REPLICA_URL", url, Path("/srv/blog"))


# --- check --deploy --------------------------------------------------------------------


def test_production_environment_passes_check_deploy(tmp_path):
    env = _env(
        tmp_path,
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": production_key(),
            "DJANGO_ALLOWED_HOSTS": "blog.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
        },
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
