"""Holes: the few bits of a shared page that depend on who reads it, filled in per request.

The page cache keeps a page as an anonymous reader sees it. A template marks what a
signed-in reader sees differently (their name, a staff link, "Edit this post", a CSRF
token) with a hole (webtier/templatetags/holes.py):

    {% load holes %}
    {% hole "account-link" %}<a href="{% url 'blog:login' %}">Log in</a>{% endhole %}

The block is the anonymous reader's version; a signed-in reader's comes from the
function an app registered under that name (`hooks.register_hole`), called with the
request and the tag's arguments. So a signed-in page view the cache answers costs one
Redis read, the session, the user's row and those few functions: no template, no list.

- While the page cache renders a page to keep, each hole's block is wrapped in two HTML
  comments that carry a random token made for that one render. The cache keeps the
  anonymous page (markers removed) and the same page cut at its holes. Text from the
  content (a post quoting a marker) cannot know the token, so it can never become a
  hole; and each render has a new token, so a page someone saved gives nothing away.
- The shared copy is always rendered for an anonymous request (no cookie at all): it
  cannot hold a private post, a password-unlocked one or anything of one reader's.
- A view whose page differs for a signed-in reader in more than its holes (a password
  post: who unlocked it, or may edit it, sees the text) calls `mark_personal()`: such a
  page is rendered whole for every signed-in reader. So are pages that are not a 200
  HTML page (a 404 may be a draft its author can open) and any visit that has a message
  to show (webtier/page_cache.py also leaves out visitors pinned after a write).
- Inside a shared fragment (`cached_fragment`) a hole always shows its anonymous block:
  a fragment is kept for everyone.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.safestring import SafeString, mark_safe

from webtier import hooks

# Set by the inner middleware's caller (webtier/page_cache.py): the entry to answer from.
FILL_ATTRIBUTE = "page_cache_fill"
# Headers that the middleware between the page cache and HoleFillMiddleware sets again
# for this response, or that describe the stored bytes rather than the filled ones.
_REDONE = frozenset(
    {
        "content-length",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-cache",
    }
)
_FRAGMENT = object()  # rendering a shared fragment: holes show their anonymous block


class Recorder:
    """The holes of one render that the page cache will keep, and whether it may."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(12)
        self.holes: list[tuple[str, dict]] = []
        self.personal = False

    def wrap(self, name: str, arguments: dict, block: str) -> str:
        index = len(self.holes)
        self.holes.append((name, arguments))
        return f"<!--hole:{self.token}:{index}-->{block}<!--/hole:{self.token}:{index}-->"


_mode: ContextVar[Recorder | object | None] = ContextVar("cloudblog_holes", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    token = _mode.set(recorder)
    try:
        yield recorder
    finally:
        _mode.reset(token)


@contextmanager
def shared_fragment() -> Iterator[None]:
    token = _mode.set(_FRAGMENT)
    try:
        yield
    finally:
        _mode.reset(token)


def mark_personal() -> None:
    """This page shows a signed-in reader more than its holes: never share it with them."""
    recorder = _mode.get()
    if isinstance(recorder, Recorder):
        recorder.personal = True


def _fill(name: str) -> Callable[..., str]:
    fill = hooks.hole_fill(name)
    if fill is None:
        raise ImproperlyConfigured(f"no app registered a fill for the hole {name!r}")
    return fill


def render_hole(request, name: str, arguments: dict, block: Callable[[], str]) -> SafeString:
    """What `{% hole %}` shows: marked while recording, else this reader's version."""
    mode = _mode.get()
    if isinstance(mode, Recorder):
        return mark_safe(mode.wrap(name, arguments, block()))
    user = getattr(request, "user", None) if mode is None else None
    if user is None or not user.is_authenticated:
        return mark_safe(block())
    return mark_safe(_fill(name)(request, **arguments))


def cut(recorder: Recorder, response) -> dict | None:
    """Take the markers out of `response`; the page cut at its holes, if it may be shared.

    The result is `{"parts": [bytes, ...], "holes": [(name, arguments, anonymous), ...]}`,
    one more part than holes: the page is parts[0] hole[0] parts[1] ... parts[-1].
    """
    if getattr(response, "streaming", False):
        return None
    content = response.content
    pieces = [content]
    if recorder.holes:
        token = re.escape(recorder.token.encode())
        marker = rb"<!--hole:" + token + rb":(\d+)-->(.*?)<!--/hole:" + token + rb":\1-->"
        pieces = re.split(marker, content, flags=re.S)
        response.content = b"".join(
            piece for i, piece in enumerate(pieces) if i % 3 != 1
        )  # literal, index, block, literal...: all but the indexes
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
    shareable = (
        response.status_code == 200
        and response.get("Content-Type", "").startswith("text/html")
        and not recorder.personal
    )
    if not shareable:
        return None
    holes = [(*recorder.holes[int(pieces[i])], pieces[i + 1]) for i in range(1, len(pieces), 3)]
    return {"parts": pieces[::3], "holes": holes}


def fill(request, parts: list[bytes], holes: list[tuple]) -> bytes:
    """The shared page with this reader's holes in it."""
    out = [parts[0]]
    signed_in = request.user.is_authenticated
    for (name, arguments, anonymous), part in zip(holes, parts[1:], strict=True):
        out.append(_fill(name)(request, **arguments).encode() if signed_in else anonymous)
        out.append(part)
    return b"".join(out)


class HoleFillMiddleware:
    """Answers a signed-in reader from the shared page the page cache found for them.

    It sits after sessions, CSRF, authentication and messages, so the reader's user,
    session and token are the usual ones and the response goes back out through the
    same middleware a rendered page does (Vary: Cookie, the CSRF cookie, CSP).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = getattr(request, FILL_ATTRIBUTE, None)
        if found is None or len(messages.get_messages(request)):
            return self.get_response(request)  # a message to show: the page in full
        entry, state = found
        body = fill(request, entry["parts"], entry["holes"])
        response = HttpResponse(body, status=entry["status"])
        for name, value in entry["headers"]:
            if name.lower() not in _REDONE:
                response[name] = value
        response["X-Cache"] = state
        # Holds this reader's name and token: never for a shared cache in front.
        patch_cache_control(response, private=True)
        return response
