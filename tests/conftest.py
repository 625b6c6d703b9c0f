"""Shared fixtures: people by role, a clean cache, fast hashing, locmem mail, temp media."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.cache import cache

from blog import roles
from tests.aws import MotoServer
from tests.factories import make_user
from webtier import health

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
CORPORA = SHARED / "corpora"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    # Factories write past the services, so pages would go stale: tests/webtier/test_page_cache.py
    # turns the page cache on where it is the subject.
    settings.PAGE_CACHE_SECONDS = 0
    # Likewise the sitemap's copy (tests/blog/test_sitemap_cache.py turns it on).
    settings.SITEMAP_REFRESH_SECONDS = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """A clean moto, with boto3 in this process (and its children) pointed at it."""
    moto_server.reset()
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    return moto_server


@pytest.fixture
def fresh_readiness():
    """/readyz with no result to reuse and no check in flight, before and after the test."""
    health.forget()
    yield
    health.forget()


@pytest.fixture
def media_root(settings):
    """The test's MEDIA_ROOT, created (the media store's readiness probe writes there)."""
    settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    return settings.MEDIA_ROOT


def corpus(*parts: str) -> Path:
    """A file or folder under ../shared/corpora, or skip with the reason when it is absent."""
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: run with ../shared beside the checkout, as CI does")
    return path


@pytest.fixture
def administrator(db):
    return make_user(roles.ADMINISTRATOR, username="ada", is_superuser=False)


@pytest.fixture
def editor(db):
    return make_user(roles.EDITOR, username="edith")


@pytest.fixture
def author(db):
    return make_user(roles.AUTHOR, username="arthur", first_name="Arthur", last_name="Dent")


@pytest.fixture
def other_author(db):
    return make_user(roles.AUTHOR, username="ford")


@pytest.fixture
def contributor(db):
    return make_user(roles.CONTRIBUTOR, username="connie")


@pytest.fixture
def subscriber(db):
    return make_user(roles.SUBSCRIBER, username="sue")


@pytest.fixture
def stranger(db):
    """A logged-out visitor's client is `client`; this is a user with no role at all."""
    return make_user(None, username="stranger")


def pytest_report_header(config):
    return [
        f"DATABASE_URL={os.environ.get('DATABASE_URL', '(default sqlite)')}",
        f"REDIS_URL={os.environ.get('REDIS_URL', '(unset: locmem cache)')}",
    ]


# The slower tiers, left out of a run that does not ask for them, `make test` (hence CI)
# included: with them the suite takes twice its 15-minute budget (README "Tests").
SLOWER_TIERS = ("cluster", "slow")


def _named(config, item) -> bool:
    """Whether the command line named this test's file or a folder below `tests/`."""
    root = Path(config.rootpath, "tests").resolve()
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path != root and (item.path == path or path in item.path.parents):
            return True
    return False


def pytest_collection_modifyitems(config, items):
    """Leave out the slower tiers (`-m cluster`: the local cluster's fault tests; `-m slow`:
    the provisioning scripts in a debootstrap chroot) unless asked for: named in `-m`, their
    file or folder named (`pytest tests/cluster`), or RUN_SLOW_TESTS=1 (`make test-all`)."""
    if os.environ.get("RUN_SLOW_TESTS") == "1":
        return
    asked = config.option.markexpr or ""
    tiers = [tier for tier in SLOWER_TIERS if tier not in asked]
    left_out = [
        item
        for item in items
        if any(item.get_closest_marker(tier) for tier in tiers) and not _named(config, item)
    ]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        kept = set(map(id, items)) - set(map(id, left_out))
        items[:] = [item for item in items if id(item) in kept]


@pytest.fixture
def steady_epoch(settings):
    """Lists use the shared cache, whose key epoch is re-read from the database at most
    every CACHE_EPOCH_TTL seconds: read it now and keep it, so that no query count
    depends on how long the test took."""
    settings.CACHE_EPOCH_TTL = 3600
    cache.get("query-count-warm-up")
