"""No URL of the project answers 500, and none takes more than a second of CPU.

Every pattern of the URLconf is found by walking `get_resolver()` (public site, feeds,
accounts, admin, /worker/, health, and whatever a later app mounts), then requested:
first once with real values in its placeholders, for every kind of visitor; then
Hypothesis fills the placeholders and the query string with what it likes (values
matching the converter, real ones, and arbitrary text) and sends GET, HEAD and POST.
POSTs carry no CSRF token, as a forged request would not; the CSRF-exempt doors (comments,
the post password, /worker/) take them anyway.
"""

from __future__ import annotations

import itertools
import re
import time
from urllib.parse import quote, urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blog import roles, services
from blog.models import Post
from tests.factories import make_category, make_comment, make_page, make_post, make_tag, make_user

pytestmark = pytest.mark.django_db

# The bound for any request, in seconds of this thread's CPU (the test client
# runs the view in it): the work a request costs. Wall-clock time on a machine shared by
# other jobs measured their load as well (a 1 s wall bound failed at load average 10);
# a request that waits instead of working (a lock, a socket) meets HUNG.
SLOWEST = 1.0
HUNG = 10.0
_PLACEHOLDER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# A path Django would take apart differently once decoded is still a path: keep to text.
_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs",))
_PARAMS = (
    "page", "q", "p", "o", "all", "e", "replyto", "next", "_popup", "_to_field",
    "_changelist_filters", "status__exact", "author__id__exact", "published_at__gte",
    "action", "password", "username", "name", "email", "body", "parent", "homepage",
)  # fmt: skip


def _leaves(patterns, prefix=()):
    """Every endpoint of the URLconf as the chain of patterns that leads to it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _leaves(pattern.url_patterns, (*prefix, pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield (*prefix, pattern.pattern)


def _pieces(chain):
    """A leaf's path as literal text and placeholders: (text) or (name, converter regex)."""
    pieces = []
    for pattern in chain:
        if isinstance(pattern, RoutePattern):
            route, at = str(pattern), 0
            for match in _PLACEHOLDER.finditer(route):
                pieces.append(route[at : match.start()])
                converter = pattern.converters[match["name"]]
                pieces.append((match["name"], converter.regex))
                at = match.end()
            pieces.append(route[at:])
        elif isinstance(pattern, RegexPattern):
            regex = pattern._regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
            pieces.append((None, regex))
    return pieces


LEAVES = [_pieces(chain) for chain in _leaves(get_resolver().url_patterns)]


@pytest.fixture
def site(db):
    """A little of everything, so real values reach real rows."""
    author = make_user(roles.AUTHOR, username="arthur")
    category = make_category("Travel", parent=make_category("Life"))
    tag = make_tag("boats")
    post = make_post(author, categories=[category], tags=[tag])
    make_comment(post, author_name="<b>Reader</b>")
    protected = make_post(author, password="opensesame")
    draft = make_post(author, status=Post.Status.DRAFT)
    parent = make_page(author, slug="about")
    child = make_page(author, slug="team", parent=parent)
    revised = services.post_write(post=Post(title="With a revision", body="Text."), by=author)
    when = post.published_at
    known = {
        "pk": [post.pk, protected.pk, draft.pk, 0],
        "object_id": [post.pk, parent.pk, author.pk, category.pk, tag.pk, 0, "x"],
        "revision_id": [revised.revisions.get().pk, 0],
        "id": [author.pk],
        "content_type_id": [ContentType.objects.get_for_model(Post).pk],
        "slug": [post.slug, category.slug, tag.slug, draft.slug],
        "username": [author.username, "nobody"],
        "year": [f"{when.year:04d}", "9999", "0000"],
        "month": [f"{when.month:02d}", "00", "13"],
        "day": [f"{when.day:02d}", "00", "31"],
        "path": [parent.path, child.path, "no/such/page"],
    }
    return {"author": author, "known": known}


@pytest.fixture
def visitors(site, settings):
    # The page cache on, as in production: its waits are part of what a visitor gets.
    settings.PAGE_CACHE_SECONDS = 300
    administrator = make_user(roles.ADMINISTRATOR, username="ada")
    people = {"anonymous": None, "author": site["author"], "administrator": administrator}
    clients = {}
    for who, user in people.items():
        client = Client(enforce_csrf_checks=True, raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        # Templates compile on first use in a process: not what the bound is about.
        client.get("/")
        client.get("/admin/")
        clients[who] = (client, user)
    return clients


def _fill(pieces, values) -> str:
    return "/" + "".join(
        p if isinstance(p, str) else str(v) for p, v in zip(pieces, values, strict=True)
    )


def _request(client, user, method: str, path: str, query: dict):
    """The response, and the request's seconds of CPU and of wall-clock time."""
    if user is not None and "_auth_user_id" not in client.session:
        client.force_login(user)  # a generated request may have logged it out
    url = quote(path, safe="/%")
    started, cpu_started = time.perf_counter(), time.thread_time()
    if method == "POST":
        response = client.post(url, query)
    else:
        response = client.generic(method, url + ("?" + urlencode(query) if query else ""))
    return response, (time.thread_time() - cpu_started, time.perf_counter() - started)


def _too_slow(seconds: tuple[float, float]) -> bool:
    cpu, wall = seconds
    return cpu > SLOWEST or wall > HUNG


def _real_paths(pieces, known):
    """The leaf with the first real value in every placeholder, then each other known
    value (9999, 00, an unknown name...) in one placeholder at a time."""
    first = []
    for piece in pieces:
        if isinstance(piece, str):
            first.append(piece)
        elif piece[0] in known:
            first.append(known[piece[0]][0])
        else:  # a regex of the admin's: its literal characters make a plausible value
            first.append(re.sub(r"[^A-Za-z0-9_/-]", "", piece[1]).strip("/")[:20] or "1")
    yield _fill(pieces, first)
    for at, piece in enumerate(pieces):
        if not isinstance(piece, str):
            for other in known.get(piece[0], [])[1:]:
                yield _fill(pieces, [*first[:at], other, *first[at + 1 :]])


@pytest.mark.parametrize("who", ["anonymous", "author", "administrator"])
def test_every_url_pattern_with_real_values_answers_without_a_server_error(site, visitors, who):
    client, user = visitors[who]
    slow, failed = [], []
    for pieces in LEAVES:
        for path, method in itertools.product(_real_paths(pieces, site["known"]), ("GET", "HEAD")):
            response, seconds = _request(client, user, method, path, {})
            if response.status_code == 500:
                failed.append(f"{method} {path}")
            if _too_slow(seconds):
                slow.append(f"{method} {path}: {seconds[0]:.2f} s CPU, {seconds[1]:.2f} s")

    assert failed == [] and slow == []


def _value(piece, known):
    name, regex = piece
    choices = [
        st.from_regex(regex, fullmatch=True, alphabet=_TEXT),
        st.text(_TEXT, max_size=30),
    ]
    if name in known:
        choices.insert(0, st.sampled_from(known[name]))
    return st.one_of(*choices)


@st.composite
def _requests(draw, known):
    pieces = draw(st.sampled_from(LEAVES))
    values = [p if isinstance(p, str) else draw(_value(p, known)) for p in pieces]
    query = draw(
        st.dictionaries(
            st.one_of(st.sampled_from(_PARAMS), st.text(_TEXT, min_size=1, max_size=10)),
            st.one_of(
                st.sampled_from(["", "0", "-1", "2", "99999999999999999999", "x", "<b>"]),
                st.text(_TEXT, max_size=40),
            ),
            max_size=4,
        )
    )
    method = draw(st.sampled_from(["GET", "GET", "HEAD", "POST"]))
    who = draw(st.sampled_from(["anonymous", "author", "administrator"]))
    return who, method, _fill(pieces, values), query


def test_generated_paths_and_query_strings_never_answer_500_or_take_over_a_second(site, visitors):
    @settings(
        max_examples=600,
        derandomize=True,  # the same cases on every run, so CI is stable
        database=None,
        deadline=None,  # the bound is asserted on the request itself, below
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(_requests(site["known"]))
    def visit(case):
        who, method, path, query = case
        client, user = visitors[who]
        response, seconds = _request(client, user, method, path, query)
        assert response.status_code != 500, (who, method, path, query)
        assert not _too_slow(seconds), (who, method, path, query, seconds)

    visit()
