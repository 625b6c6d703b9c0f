"""No active content survives in any page a visitor can open.

Every line of the public XSS payload lists in ../shared/corpora/xss/ goes through
the doors a user uses (a post saved by an Author or an Editor, in Markdown and in
HTML; a comment posted through the form) and every page that shows it (the post,
the home page, the feeds) is checked with a real HTML parser. The same payloads
also go straight through the renderers, one at a time, so a failure names the
payload that got through.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import defusedxml.ElementTree as ET
import nh3
import pytest
from django.urls import reverse
from django.utils.html import escape

from blog import feeds
from blog.models import Comment, Post
from blog.rendering import render_comment, render_post_body
from blog.services import comment_set_status, post_write
from tests.conftest import CORPORA, corpus

pytestmark = pytest.mark.django_db

_URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "poster", "background", "srcset",
    "data", "cite", "lowsrc", "dynsrc", "longdesc", "codebase", "icon", "manifest", "ping",
}  # fmt: skip
_ACTIVE_TAGS = {"script", "style", "object", "embed", "base", "applet", "frame", "frameset"}
# Allowed in <head> for the theme's own tags; from user content in <body> they are active.
_HEAD_ONLY_TAGS = {"link", "meta", "title"}
_SCRIPT_SCHEMES = ("javascript:", "vbscript:")
# The theme's <head> has `<link rel="icon" href="data:,">` (no favicon request); user
# content only ever lands in <body>, where no data: URL is allowed at all.
_BODY_BAD_SCHEMES = (*_SCRIPT_SCHEMES, "data:")
# Browsers ignore ASCII whitespace and control characters inside a URL's scheme.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_HEX_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")
_BAD_CSS = re.compile(r"expression\(|behaviou?r:|-moz-binding|url\((?:javascript|vbscript|data):")


def _css(value: str) -> str:
    value = _CSS_HEX_ESCAPE.sub(lambda m: chr(min(int(m[1], 16), 0x10FFFF)), value)
    value = _CSS_COMMENT.sub("", value).replace("\\", "")
    return re.sub(r"[\s'\"]+", "", value).lower()


class _ActiveContentFinder(HTMLParser):
    """Collect everything in a page that a browser would run.

    HTMLParser decodes entities in attribute values, so `java&#x09;script:` is
    seen as the browser sees it. Text is never inspected: a paragraph that only
    *mentions* "<script>" or "javascript:" arrives escaped and is harmless.
    """

    def __init__(self, *, fragment: bool):
        super().__init__(convert_charrefs=True)
        self.in_body = fragment
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        shown = self.get_starttag_text()[:200]
        if tag == "body":
            self.in_body = True
        if tag in _ACTIVE_TAGS or (self.in_body and tag in _HEAD_ONLY_TAGS):
            self.found.append(f"<{tag}> element: {shown}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"event handler {name}: {shown}")
            elif name in _URL_ATTRIBUTES:
                bad = _BODY_BAD_SCHEMES if self.in_body else _SCRIPT_SCHEMES
                url = _URL_NOISE.sub("", value).lower()
                if url.startswith(bad) or (name == "srcset" and any(s in url for s in bad)):
                    self.found.append(f"{name} with a script or data URL: {shown}")
            elif name == "style" and _BAD_CSS.search(_css(value)):
                self.found.append(f"style that runs code: {shown}")
            elif name == "srcdoc":
                self.found.append(f"srcdoc document: {shown}")
            elif tag == "meta" and name == "http-equiv" and value.lower() == "refresh":
                self.found.append(f"meta refresh: {shown}")

    handle_startendtag = handle_starttag


def active_content(html: str, *, fragment: bool = False) -> list[str]:
    finder = _ActiveContentFinder(fragment=fragment)
    try:
        finder.feed(html)
        finder.close()
    except AssertionError as exc:  # _markupbase's way to reject a broken declaration
        # Sanitized output is always well-formed; anything else is suspect in itself.
        finder.found.append(f"markup the parser cannot read: {exc}")
    return finder.found


def _feed_html(xml: bytes) -> list[str]:
    """The HTML each item of an RSS or Atom feed carries, as text."""
    root = ET.fromstring(xml)
    atom = "{http://www.w3.org/2005/Atom}"
    nodes = root.findall("channel/item/description") + [
        node
        for entry in root.findall(f"{atom}entry")
        for node in entry.findall(f"{atom}summary") + entry.findall(f"{atom}content")
    ]
    return [node.text or "" for node in nodes]


def _feed_titles(xml: bytes) -> list[str]:
    """Every title of an RSS or Atom feed (the feed's own and its items'), as text."""
    root = ET.fromstring(xml)
    atom = "{http://www.w3.org/2005/Atom}"
    nodes = root.findall("channel/title") + root.findall("channel/item/title")
    nodes += root.findall(f"{atom}title") + root.findall(f"{atom}entry/{atom}title")
    return [node.text or "" for node in nodes]


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def _parsed(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(text)
    parser.close()
    return parser


def _elements(text: str) -> list[str]:
    """The elements a reader that renders this text as HTML would make."""
    return _parsed(text).tags


def _as_html_text(text: str) -> str:
    """What a reader that renders this text as HTML shows."""
    return "".join(_parsed(text).text)


def _shown(title: str) -> str:
    """The words of a title once its markup (and a script's or style's content) is gone."""
    return html.unescape(nh3.clean(title, tags=set()))


def _lists() -> list[str]:
    folder = CORPORA / "xss"
    # When the folder is absent one id remains, and corpus() skips it with the reason.
    return sorted(p.name for p in folder.glob("*.txt")) or ["*.txt"]


def _payloads(name: str) -> list[str]:
    text = corpus("xss", name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def _all_payloads() -> list[str]:
    return [p for name in _lists() for p in _payloads(name)]


def _findings_report(failures) -> str:
    return "\n".join(f"{where}: {payload!r}\n    -> {found}" for where, payload, found in failures)


# --- the checker itself -------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href=" &#1;JaVaScRiPt:alert(1)">x</a>',
        '<img srcset="a.png 1x, data:image/svg+xml,&lt;svg&gt; 2x">',
        '<p style="width: expr\\65 ssion(alert(1))">x</p>',
        '<div style="background: url( javascript:alert(1) )">x</div>',
        '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        "<base href='https://evil.example/'>",
        '<object data="data:text/html,hi"></object>',
    ],
)
def test_the_checker_recognises_active_content(html):
    assert active_content(html, fragment=True)


def test_text_that_only_mentions_scripts_is_not_active_content():
    # Escaped markup and the word "javascript:" in text are what a safe page shows.
    html = "<p>Try &lt;script&gt;alert(1)&lt;/script&gt; or javascript:alert(1).</p>"

    assert active_content(html, fragment=True) == []


def test_the_theme_itself_has_no_active_content(client, author):
    post = post_write(
        post=Post(title="Plain", body="Just *words*.", status=Post.Status.PUBLISHED),
        by=author,
    )

    for url in (reverse("blog:home"), post.get_absolute_url(), "/no/such/page/", "/search/?q=x"):
        html = client.get(url).content.decode()
        assert "<body" in html
        assert active_content(html) == [], url


# --- every payload through the renderers --------------------------------------


_RENDERERS = {
    "post html": lambda s: render_post_body(s, "html", allow_embeds=False),
    "post markdown": lambda s: render_post_body(s, "markdown", allow_embeds=False),
    "editor html": lambda s: render_post_body(s, "html", allow_embeds=True),
    "editor markdown": lambda s: render_post_body(s, "markdown", allow_embeds=True),
    "comment": render_comment,
}


@pytest.mark.parametrize("name", _lists())
def test_no_payload_survives_any_renderer(name):
    failures = [
        (where, payload, found)
        for payload in _payloads(name)
        for where, render in _RENDERERS.items()
        if (found := active_content(render(payload), fragment=True))
    ]

    assert failures == [], _findings_report(failures)


def test_control_characters_cannot_hide_a_javascript_link():
    for source in (
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href="java\tscript:alert(1)">x</a>',
        '<a href="\x01javascript:alert(1)">x</a>',
        '<a href="&#1;javascript:alert(1)">x</a>',
        '<a href="jav&#x0A;ascript:alert(1)">x</a>',
        '<a href=" &#14; javascript:alert(1)">x</a>',
    ):
        for render in _RENDERERS.values():
            html = render(source)
            assert "<a" in html and active_content(html, fragment=True) == [], (source, html)


def test_comments_allow_links_but_not_images():
    html = render_comment('See <a href="https://example.com/">this</a> <img src="x.png"> <b>!</b>')

    assert '<a href="https://example.com/" rel="nofollow ugc noopener noreferrer">this</a>' in html
    assert "<b>!</b>" in html
    assert "<img" not in html


def test_editor_may_embed_an_https_iframe_but_nothing_else():
    source = (
        '<iframe src="https://www.youtube-nocookie.com/embed/x" allowfullscreen></iframe>'
        '<iframe src="http://example.com/plain"></iframe>'
        '<iframe src="javascript:alert(1)"></iframe>'
        '<iframe src="https://example.com/" srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">'
        "</iframe>"
    )

    as_editor = render_post_body(source, "html", allow_embeds=True)
    as_author = render_post_body(source, "html", allow_embeds=False)

    assert as_editor.count("<iframe") == 4
    assert as_editor.count(" src=") == 2
    assert 'src="https://www.youtube-nocookie.com/embed/x"' in as_editor
    assert "http://example.com/plain" not in as_editor and "javascript" not in as_editor
    assert active_content(as_editor, fragment=True) == []
    assert "<iframe" not in as_author


def test_author_styles_keep_colours_but_not_fixed_positioning():
    html = render_post_body(
        '<p style="position: fixed; top: 0; color: red">Look</p>', "html", allow_embeds=False
    )

    assert "position" not in html and "top" not in html
    assert 'style="color:red"' in html.replace(" ", "")


# --- through the doors a user uses --------------------------------------------

# Website addresses that pass Django's URL validation yet carry markup or a scheme.
_VALID_NASTY_URLS = [
    'https://example.com/"><script>alert(1)</script>',
    "https://example.com/'onmouseover='alert(1)",
    'http://example.com/"onfocus="alert(1)"autofocus="',
    "https://example.com/#javascript:alert(1)",
    "example.com/?q=<img/src/onerror=alert(1)>",
]


def _batches(lines: list[str], size: int = 50, max_chars: int = 18_000) -> list[list[str]]:
    """Payloads in groups, so a few hundred requests cover the whole corpus.

    A payload that opens a raw-text element (an unclosed <script>, <textarea>...)
    turns the rest of its batch into text: the per-payload test above covers those.
    """
    batches, current = [], []
    for line in lines:
        if current and (len(current) == size or sum(map(len, current)) + len(line) > max_chars):
            batches.append(current)
            current = []
        current.append(line)
    return [*batches, current] if current else batches


def _check_pages(client, urls) -> tuple[list[tuple[str, str]], dict[str, str]]:
    failures, pages = [], {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
        failures += [(url, found) for found in active_content(pages[url])]
    return failures, pages


def _check_feeds(client, urls, *, expected_items: int) -> list[tuple[str, str]]:
    failures = []
    for url in urls:
        items = _feed_html(client.get(url).content)
        assert len(items) == expected_items, url
        for item in items:
            failures += [(url, found) for found in active_content(item, fragment=True)]
    return failures


def _report(failures) -> str:
    return "\n".join(f"{url}: {found}" for url, found in failures[:50])


@pytest.fixture
def _everything_listed(settings, monkeypatch):
    """One page of home and one feed hold every test post or comment."""
    settings.POSTS_PER_PAGE = 1000
    monkeypatch.setattr(feeds, "FEED_ITEMS", 1000)


@pytest.mark.parametrize("body_format", [Post.Format.MARKDOWN, Post.Format.HTML])
@pytest.mark.parametrize("role", ["author", "editor"])
@pytest.mark.usefixtures("_everything_listed")
def test_payloads_in_post_bodies_leave_no_active_content_on_any_page(
    client, request, role, body_format
):
    writer = request.getfixturevalue(role)
    posts = [
        post_write(
            post=Post(
                title=f"Batch {n}",
                body=f"<p>marker-{n}</p>\n\n" + "\n\n".join(batch),
                body_format=body_format,
                status=Post.Status.PUBLISHED,
            ),
            by=writer,
        )
        for n, batch in enumerate(_batches(_all_payloads()))
    ]

    failures, pages = _check_pages(
        client, [reverse("blog:home"), *(p.get_absolute_url() for p in posts)]
    )
    failures += _check_feeds(
        client, [reverse("blog:feed"), reverse("blog:feed-atom")], expected_items=len(posts)
    )

    assert failures == [], _report(failures)
    for n, post in enumerate(posts):  # the checks above did look at the content
        assert f"marker-{n}" in pages[post.get_absolute_url()]


@pytest.mark.usefixtures("_everything_listed")
def test_payloads_in_titles_and_excerpts_are_shown_as_text(client, author, settings):
    samples = _payloads("XSS_Polyglots.txt") + _payloads("xss_payloads_quick.txt")
    posts = [
        post_write(
            post=Post(
                title=payload[:300],
                excerpt=payload,
                body="An ordinary body.",
                status=Post.Status.PUBLISHED,
            ),
            by=author,
        )
        for payload in samples
    ]

    failures, _ = _check_pages(
        client, [reverse("blog:home"), *(p.get_absolute_url() for p in posts)]
    )
    failures += _check_feeds(
        client, [reverse("blog:feed"), reverse("blog:feed-atom")], expected_items=len(posts)
    )

    assert failures == [], _report(failures)
    for url in (reverse("blog:feed"), reverse("blog:feed-atom")):
        titles = _feed_titles(client.get(url).content)
        # Readers that render a title as HTML find no element in it at all, only text.
        assert [t for t in titles if _elements(t)] == [], url
        shown = {_shown(p.title) for p in posts} | {settings.SITE_NAME}
        assert set(map(_as_html_text, titles)) == shown, url


@pytest.mark.usefixtures("_everything_listed")
def test_payloads_in_comments_leave_no_active_content_on_any_page(client, author, editor, settings):
    settings.COMMENT_RATE_LIMIT = 100_000
    post = post_write(
        post=Post(title="Talk to me", body="Comments welcome.", status=Post.Status.PUBLISHED),
        by=author,
    )
    batches = _batches(_all_payloads())
    for n, batch in enumerate(batches):
        response = client.post(
            reverse("blog:comment-post", args=[post.pk]),
            {
                "name": batch[0][:100],
                "email": f"reader{n}@example.com",
                "url": _VALID_NASTY_URLS[n % len(_VALID_NASTY_URLS)],
                "body": f"comment-marker-{n}\n\n" + "\n\n".join(batch),
            },
        )
        assert response.status_code == 302, (n, response.content[:2000])
    comment_set_status(comments=post.comments.all(), status=Comment.Status.APPROVED, by=editor)

    failures, pages = _check_pages(client, [post.get_absolute_url()])
    failures += _check_feeds(
        client,
        [reverse("blog:comments-feed"), reverse("blog:comments-feed-atom")],
        expected_items=len(batches),
    )

    assert failures == [], _report(failures)
    for url in (reverse("blog:comments-feed"), reverse("blog:comments-feed-atom")):
        titles = _feed_titles(client.get(url).content)
        assert len(titles) == len(batches) + 1, url
        assert [t for t in titles if _elements(t)] == [], url
    # The payloads did reach the page, as text and as escaped attribute values.
    html = pages[post.get_absolute_url()]
    comments = post.comments.all()
    assert all(f"comment-marker-{n}" in html for n in range(len(batches)))
    assert all(escape(c.author_name) in html for c in comments)
    assert len({c.author_url for c in comments}) == len(_VALID_NASTY_URLS)
    assert all(f'href="{escape(c.author_url)}"' in html for c in comments)


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "jav\tascript:alert(1)"],
)
def test_a_script_website_address_is_refused_and_its_echo_is_inert(client, author, url):
    post = post_write(
        post=Post(title="Talk to me", body="Comments welcome.", status=Post.Status.PUBLISHED),
        by=author,
    )

    response = client.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"name": "Mallory", "email": "m@example.com", "url": url, "body": "Hi"},
    )

    assert response.status_code == 400
    assert b"Enter a valid URL" in response.content
    assert active_content(response.content.decode()) == []
    assert not Comment.objects.exists()


def test_an_iframe_cannot_smuggle_markup_for_other_parsers():
    # Browsers treat iframe children as text, but the sanitizer writes them back raw;
    # feed readers and other parsers would see a live <script> there.
    html = render_post_body(
        '<iframe src="https://example.com/"><script>alert(1)</script><img src=x onerror=alert(1)>',
        "html",
        allow_embeds=True,
    )

    assert html == '<iframe src="https://example.com/"></iframe>'
