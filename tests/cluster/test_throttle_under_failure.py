"""The instance-kill test with the login throttle at work: attackers guess passwords
through haproxy while logged-in people comment and read, and web2 dies in the middle.

The throttle counts failures in the database every instance shares, by the address
haproxy appends to X-Forwarded-For (TRUSTED_PROXY_COUNT=1 on the cluster's instances).
Each simulated person here has an address of their own on the loopback network
(127.0.0.0/8 is all local on Linux): the logged-in visitors 127.0.0.1, the attacker on
the admin's account 127.0.0.2 (and further ones should haproxy send all of its first
guesses to one instance), the sprayer 127.0.0.3, the admin signing in from elsewhere
127.0.0.9. The shared cluster's limits are low (conftest.py): LOGIN_FAILURE_LIMIT for
an account from one address, LOGIN_IP_FAILURE_LIMIT for an address alone.
"""

from __future__ import annotations

import http.client
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from tests.cluster.conftest import LOGIN_FAILURE_LIMIT, LOGIN_IP_FAILURE_LIMIT, Response
from tests.cluster.faults import (
    assert_instance_kill_unnoticed,
    kill_under_load,
    until_every_instance,
)
from tests.loadgen import LOGIN_PATH, User

pytestmark = pytest.mark.cluster

LOGGED_IN_USERS = 6
KILLED = "web2"
ATTACKERS = ("127.0.0.2", "127.0.0.12", "127.0.0.22", "127.0.0.32")
SPRAYER = "127.0.0.3"
ELSEWHERE = "127.0.0.9"
# Accounts the sprayer names, real (the demo's people) and made up.
SPRAYED = ("eleanor", "sam", "mira", "root", "wp-admin", "editor", "test", "administrator")
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Browser:
    """A visitor on its own loopback address, a fresh connection per request (haproxy
    balances each one on its own), the CSRF cookie kept."""

    cluster: object
    address: str
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    def request(self, method: str, path: str, form: dict | None = None, **headers) -> Response:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.cluster.ports["lb"], timeout=20, source_address=(self.address, 0)
        )
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # Django's CSRF check wants a Referer or Origin of the site itself.
            headers["Origin"] = self.cluster.url("").rstrip("/")
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode()
        finally:
            conn.close()
        for line in answer.msg.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(line)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        lowered = {name.lower(): value for name, value in answer.getheaders()}
        return Response(answer.status, lowered, text, self.cluster.url(path))

    def log_in(self, username: str, password: str, **headers) -> Response:
        """One try at the site's login form (the form's token is fetched once)."""
        if not self.token:
            self.token = _CSRF.search(self.request("GET", LOGIN_PATH).body).group(1)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": self.token}
        return self.request("POST", LOGIN_PATH, form, **headers)


def _served(answers: list[Response]) -> list[str]:
    return [a.headers.get("x-served-by", "none") for a in answers]


def _trace(answers: list[Response]) -> list[tuple[int, str]]:
    return list(zip([a.status for a in answers], _served(answers), strict=True))


def _refused(answer: Response) -> bool:
    return answer.status == 429 and int(answer.headers.get("retry-after", "0")) > 0


def _wrong(answer: Response) -> bool:
    """A failed login that was counted, not refused: the form again, with its error."""
    return answer.status == 200 and "correct username and password" in answer.body


class Attack:
    """What the attackers did and met, for the assertions after the run."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.rounds: list[tuple[str, list[Response]]] = []
        self.spray: list[Response] = []
        self.sprayer = Browser(cluster, SPRAYER)

    def guess_until_spread(self) -> None:
        """LOGIN_FAILURE_LIMIT wrong passwords for the admin from one address; again from
        a fresh address while the first LOGIN_FAILURE_LIMIT - 1 all reached one instance
        (round robin among the visitors' requests: about one time in nine), since only
        guesses spread over instances show that they are counted together. Each guess
        claims another X-Forwarded-For: the address counted is the one haproxy saw."""
        for address in ATTACKERS:
            attacker = Browser(self.cluster, address)
            answers = [
                attacker.log_in("admin", secrets.token_hex(8), **{"X-Forwarded-For": _forged()})
                for _ in range(LOGIN_FAILURE_LIMIT)
            ]
            self.rounds.append((address, answers))
            if len(set(_served(answers[:-1]))) > 1:
                return

    def spray_across_accounts(self, accounts: tuple[str, ...]) -> None:
        for account in accounts:
            self.spray.append(self.sprayer.log_in(account, secrets.token_hex(8)))


def _forged() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}"


def test_killing_an_instance_while_attackers_guess_keeps_people_in_and_attackers_throttled(
    cluster,
):
    attack = Attack(cluster)
    half = LOGIN_IP_FAILURE_LIMIT // 2

    def before_kill() -> None:
        # Both attackers at once, as they would be (each guess hashes a password: seconds
        # on a loaded machine). Half of the spray comes before web2 dies.
        with ThreadPoolExecutor(max_workers=2) as attackers:
            guesses = attackers.submit(attack.guess_until_spread)
            spray = attackers.submit(attack.spray_across_accounts, SPRAYED[:half])
            guesses.result(), spray.result()

    after: dict[str, list[Response]] = {}

    def after_kill() -> None:
        attack.spray_across_accounts(SPRAYED[half:LOGIN_IP_FAILURE_LIMIT])
        survivors = cluster.webs - {KILLED}
        attacker = Browser(cluster, attack.rounds[-1][0])
        # Locked on every instance left, even with the right password.
        after["attacker"] = until_every_instance(
            cluster, lambda: attacker.log_in("admin", cluster.admin_password), webs=survivors
        )
        # ...and the sprayer for any account, one it never named included.
        after["sprayer"] = until_every_instance(
            cluster,
            lambda: attack.sprayer.log_in(f"new-{secrets.token_hex(3)}", "x"),
            webs=survivors,
        )
        # The account's owner, from another address, signs in as usual.
        after["owner"] = [Browser(cluster, ELSEWHERE).log_in("admin", cluster.admin_password)]

    users = [User("admin", cluster.admin_password)] * LOGGED_IN_USERS
    try:
        run, report, killed_at = kill_under_load(
            cluster,
            users,
            KILLED,
            logins=LOGGED_IN_USERS,
            comment_ratio=0.2,
            ramp_up=2,
            before_kill=before_kill,
            after_kill=after_kill,
        )
        # web2 is back: it knows the locks too (they are in the database).
        attacker = Browser(cluster, attack.rounds[-1][0])
        back = until_every_instance(cluster, lambda: attacker.log_in("admin", "x"))
    finally:
        # Nothing of this test's addresses is left to lock another test out.
        addresses = ", ".join(f"'{a}'" for a in (*ATTACKERS, SPRAYER, ELSEWHERE))
        forget = f"DELETE FROM axes_accessattempt WHERE ip_address IN ({addresses})"  # noqa: S608
        cluster.sql("primary", forget)

    seen = {
        "rounds": [(address, _trace(answers)) for address, answers in attack.rounds],
        "spray": _trace(attack.spray),
        **{who: _trace(answers) for who, answers in after.items()},
        "back": _trace(back),
    }
    print(f"\nthe attackers' answers (status, instance): {seen}")
    # The people logged in saw what they see when an instance dies without any attack.
    assert_instance_kill_unnoticed(
        cluster,
        run,
        report,
        killed_at,
        f"{LOGGED_IN_USERS} logged-in users, two attackers",
        instance=KILLED,
    )
    # Counted together: the guesses before the last reached more than one instance, and
    # the last, whichever instance took it, is the one that locks (none alone had seen
    # LOGIN_FAILURE_LIMIT - 1 of them).
    answers = attack.rounds[-1][1]
    assert len(set(_served(answers[:-1]))) > 1, seen
    assert [_wrong(a) for a in answers[:-1]] == [True] * (LOGIN_FAILURE_LIMIT - 1), seen
    assert _refused(answers[-1]), seen
    # Every round locked at the limit, not before, whatever X-Forwarded-For claimed.
    assert all(_refused(a[-1]) and all(map(_wrong, a[:-1])) for _, a in attack.rounds), seen
    # The sprayer: counted over the instances and across web2's death (half of the tries
    # came before it), locked at the address's limit although no account was tried twice.
    assert [_wrong(a) for a in attack.spray[:-1]] == [True] * (LOGIN_IP_FAILURE_LIMIT - 1), seen
    assert _refused(attack.spray[-1]), seen
    assert all(map(_refused, after["attacker"])), seen
    assert all(map(_refused, after["sprayer"])), seen
    assert after["owner"][0].status == 302, seen
    assert after["owner"][0].headers["location"].endswith("/admin/"), seen
    assert all(map(_refused, back)), seen
