"""Login throttling across two real gunicorn instances sharing MariaDB: an attacker whose
guesses a load balancer spreads over both is locked after the same number as on one, and
the account's owner, from another address, signs in through either."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from blog import roles
from tests.factories import PASSWORD, make_user
from tests.gunicorn import running_gunicorn, server_environ, test_database_url
from tests.net import unused_port

pytestmark = pytest.mark.django_db(transaction=True)

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"


@pytest.fixture
def instances(tmp_path):
    env = server_environ(
        tmp_path,
        DATABASE_URL=test_database_url(),
        # Behind one proxy, as behind the ALB: the last X-Forwarded-For hop is the client.
        TRUSTED_PROXY_COUNT="1",
        GUNICORN_WORKERS="1",
    )
    with ExitStack() as servers:
        bases = []
        for n in range(2):
            bind = f"127.0.0.1:{unused_port()}"
            servers.enter_context(
                running_gunicorn({**env, "GUNICORN_BIND": bind}, tmp_path / f"web{n}.log")
            )
            bases.append(f"http://{bind}")
        yield bases


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
