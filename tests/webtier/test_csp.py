"""Content-Security-Policy on every response: no inline script, nonces, report-only mode."""

from __future__ import annotations

import subprocess
import sys

import pytest
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.template import engines
from django.test import RequestFactory

from tests.config.test_settings import REPO, _env
from tests.factories import make_post

pytestmark = pytest.mark.django_db


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize(
    "path",
    ["/", "/search/?q=x", "/accounts/login/", "/admin/login/", "/no/such/page/", "/feed/"],
)
def test_every_page_carries_a_policy_that_allows_no_inline_script(client, author, path):
    make_post(author)

    response = client.get(path)

    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]  # no nonce used on the page, so none offered
    assert "'unsafe-inline'" not in policy["script-src"] + policy["default-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]


def test_an_administrators_pages_carry_it_too(client, administrator):
    client.force_login(administrator)

    for path in ("/admin/", "/admin/blog/post/add/", "/admin/media_library/mediaitem/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"], path


def test_a_template_that_uses_the_nonce_gets_it_in_the_header():
    template = engines["django"].from_string(
        '<script type="module" nonce="{{ request.csp_nonce }}" src="/static/x.js"></script>'
    )

    def view(request):
        return HttpResponse(template.render({}, request))

    response = CSPMiddleware(view)(RequestFactory().get("/"))

    nonce = response.content.decode().split('nonce="')[1].split('"')[0]
    assert len(nonce) >= 22  # 16 random bytes
    assert f"'nonce-{nonce}'" in _directives(response["Content-Security-Policy"])["script-src"]


_HEADERS = """
import django; django.setup()
from django.test import Client
response = Client().get("/healthz", HTTP_HOST="localhost")
print(sorted(k for k in response.headers if "content-security" in k.lower()))
"""


@pytest.mark.parametrize(
    ("report_only", "header"),
    [
        ("false", "Content-Security-Policy"),
        ("true", "Content-Security-Policy-Report-Only"),
    ],
)
def test_report_only_mode_sends_the_same_policy_without_enforcing_it(tmp_path, report_only, header):
    result = subprocess.run(
        [sys.executable, "-c", _HEADERS],
        cwd=REPO,
        env=_env(tmp_path, {"CSP_REPORT_ONLY": report_only}),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr([header])
