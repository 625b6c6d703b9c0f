"""The public site and the admin work under the Content-Security-Policy in a real browser:
no page breaks a rule of it (Chromium reports each break as a `securitypolicyviolation`
event and a console error, and this test listens to both)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from blog import roles
from media_library.services import media_upload
from tests.blog.test_browser import (
    chromium,  # noqa: F401 (one Chromium per module)
    page,  # noqa: F401 (a fresh context per test)
)
from tests.factories import (
    PASSWORD,
    make_category,
    make_comment,
    make_page,
    make_post,
    make_tag,
    make_user,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs in every document before its own scripts: keeps what the browser refused.
_LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def watched(page):  # noqa: F811 (the fixture imported above)
    """The page, and every CSP complaint it gets from here on."""
    complaints = []
    page.context.add_init_script(_LISTEN)

    def console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            complaints.append(message.text)

    page.on("console", console)

    def check(url: str) -> None:
        response = page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(100)  # violation events are dispatched asynchronously
        assert response.status < 500, url
        assert "content-security-policy" in response.headers, url
        complaints.extend(f"{url}: {v}" for v in page.evaluate("window.__csp"))

    return page, check, complaints


def _png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(out, "PNG")
    return SimpleUploadedFile("harbour.png", out.getvalue(), content_type="image/png")


def test_the_listener_hears_a_violation(live_server, watched):
    tab, check, complaints = watched
    check(f"{live_server.url}/")

    tab.evaluate(
        "document.body.appendChild(Object.assign(document.createElement('script'),"
        " {textContent: 'window.ran = true'}))"
    )
    tab.wait_for_timeout(200)

    assert tab.evaluate("window.ran === undefined")  # the inline script did not run
    assert any("script-src" in v for v in tab.evaluate("window.__csp"))
    assert any("script-src" in c for c in complaints)


def test_public_pages_and_the_admin_break_no_rule_of_the_policy(live_server, watched):
    tab, check, complaints = watched
    writer = make_user(roles.AUTHOR, username="writer", first_name="Wendy")
    make_user(roles.ADMINISTRATOR, username="boss")
    category, tag = make_category("Field notes"), make_tag("boats")
    item, _ = media_upload(file=_png(), by=writer, alt_text="A harbour")
    post = make_post(
        writer,
        title="Styled post",
        body=f'<p style="color: #c00">Red words</p>\n\n![A harbour](media:{item.pk})',
        body_format="markdown",
        categories=[category],
        tags=[tag],
        featured_image=item,
    )
    make_comment(post, author_name="Reader")
    locked = make_post(writer, title="Locked", password="opensesame")
    about = make_page(writer, title="About", slug="about")
    base = live_server.url

    for path in (
        "/",
        post.get_absolute_url(),
        about.get_absolute_url(),
        locked.get_absolute_url(),
        f"/category/{category.slug}/",
        f"/tag/{tag.slug}/",
        "/author/writer/",
        "/search/?q=Styled",
        "/no/such/page/",
        "/accounts/login/",
    ):
        check(f"{base}{path}")

    check(f"{base}/admin/login/")
    tab.fill("#id_username", "boss")
    tab.fill("#id_password", PASSWORD)
    tab.click("input[type=submit]")
    tab.wait_for_selector("#site-name")
    for path in (
        "/admin/",
        f"/admin/blog/post/{post.pk}/change/",
        "/admin/blog/post/add/",
        "/admin/blog/post/",
        "/admin/media_library/mediaitem/",
        f"/admin/media_library/mediaitem/{item.pk}/change/",
        "/admin/blog/comment/",
        "/admin/blog/page/",
        "/admin/auth/user/",
        "/admin/axes/accessattempt/",
    ):
        check(f"{base}{path}")
    # The admin's scripts ran: the change form's date shortcuts are built by calendar JS.
    check(f"{base}/admin/blog/post/{post.pk}/change/")
    assert tab.locator(".datetimeshortcuts").count() > 0

    assert complaints == []
