"""Login throttling across two real gunicorn instances sharing MariaDB: an attacker whose
guesses a load balancer spreads over both is locked after the same number as on one, and
the account's owner, from another address, signs in through either."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from blog import roles
from tests.config.test_gunicorn import GUNICORN, ROOT, _wait_for_port
from tests.factories import PASSWORD, make_user
from tests.net import unused_port

pytestmark = pytest.mark.django_db(transaction=True)

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.mysql":
        pytest.skip("two instances need a database server to share (DATABASE_URL=mysql://...)")
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"mysql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


@pytest.fixture
def instances(tmp_path):
    if not GUNICORN.exists():
        pytest.skip(f"{GUNICORN} is not installed")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GUNICORN_", "DATABASE_", "DJANGO_", "MEDIA_", "LOGIN_"))
    }
    env.update(
        CLOUDBLOG_VAR_DIR=str(tmp_path),
        DATABASE_URL=_database_url(),
        DJANGO_DEBUG="true",
        # Behind one proxy, as behind the ALB: the last X-Forwarded-For hop is the client.
        TRUSTED_PROXY_COUNT="1",
        GUNICORN_WORKERS="1",
    )
    procs, bases = [], []
    try:
        for n in range(2):
            port = unused_port()
            log = tmp_path / f"web{n}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [str(GUNICORN), "-c", "config/gunicorn.conf.py"],
                    cwd=ROOT,
                    env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            procs.append(proc)
            _wait_for_port(port, proc, log)
            bases.append(f"http://127.0.0.1:{port}")
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=15)


class _Browser:
    """One visitor: a cookie jar, and the address the load balancer says they have."""

    def __init__(self, address: str):
        self.address = address
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            _NoRedirect(),
        )

    def login(self, base: str, path: str, username: str, password: str):
        form = self._open(f"{base}{path}").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": password}
        ).encode()
        response = self._open(f"{base}{path}", body, referer=f"{base}{path}")
        return response.status, dict(response.headers)

    def _open(self, url: str, data: bytes | None = None, referer: str | None = None):
        headers = {"X-Forwarded-For": self.address}
        if referer:
            headers["Referer"] = referer
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            return self.opener.open(request, timeout=10)
        except urllib.error.HTTPError as error:
            return error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _victim():
    user = make_user(roles.EDITOR, username="victim")
    # The instances run with the production hashers, not the tests' fast one.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "victimsalt")
    user.save(update_fields=["password"])


@pytest.mark.parametrize("path", ["/admin/login/", "/accounts/login/"])
def test_guesses_spread_over_two_instances_are_counted_once(instances, path):
    _victim()
    attacker, owner = _Browser(ATTACKER), _Browser(OWNER)

    answers = [attacker.login(instances[n % 2], path, "victim", f"guess-{n}")[0] for n in range(6)]
    locked = [attacker.login(base, path, "victim", PASSWORD) for base in instances]
    owner_in = owner.login(instances[1], path, "victim", PASSWORD)

    assert answers == [200, 200, 200, 200, 429, 429]
    assert [status for status, _ in locked] == [429, 429]
    assert all(headers["Retry-After"] == "900" for _, headers in locked)
    assert owner_in[0] == 302


def test_the_real_gunicorn_reads_no_address_from_a_header_the_client_forged(instances):
    _victim()
    answers = [
        _Browser(f"192.0.2.{n}, {ATTACKER}").login(
            instances[0], "/accounts/login/", "victim", f"guess-{n}"
        )[0]
        for n in range(5)
    ]

    assert answers == [200, 200, 200, 200, 429]
