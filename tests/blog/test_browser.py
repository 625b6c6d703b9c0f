"""End to end in a real browser: an author writes and publishes a post in the admin.

Uses Debian's Chromium through Playwright's Python package (no browser download);
`make test` installs the `chromium` package. Skips with the reason when it is absent.
"""

from __future__ import annotations

import shutil

import pytest

from blog import roles
from tests.factories import PASSWORD, make_category, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the test command runs as root in CI
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per test module: starting Playwright's driver and the browser costs
    2-8 s (more on a loaded machine), a fresh context per test (`page`) about 0.2 s, and
    a context is what isolates tests: its own cookies, storage and cache."""
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (make test installs it with apt)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread while it runs; the ORM
    # calls in the test bodies are still synchronous and safe.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_author_writes_and_publishes_a_post_that_shows_on_home_and_in_the_feed(live_server, page):
    make_user(roles.AUTHOR, username="writer", first_name="Wendy", last_name="Writer")
    make_category("Field notes")

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "writer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    page.goto(f"{live_server.url}/admin/blog/post/add/")
    page.fill("#id_title", "Notes from the browser")
    # The body is the Markdown editor (EasyMDE): typed into, as a person would.
    page.locator(".field-body .CodeMirror").click()
    page.keyboard.insert_text("Written in **Chromium** by a real author.\n\n- one\n- two")
    page.select_option("#id_status", "publish")
    # The admin's two-box selector: pick from "available", move it to "chosen".
    page.select_option("#id_categories_from", label="Field notes")
    page.click("#id_categories_add")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    page.goto(f"{live_server.url}/")
    article = page.locator("article.post-summary", has_text="Notes from the browser")
    assert article.count() == 1
    assert "Field notes" in article.inner_text()
    article.locator("h2 a").click()
    assert page.locator("h1.p-name").inner_text() == "Notes from the browser"
    assert page.locator(".entry-content strong").inner_text() == "Chromium"

    feed = page.request.get(f"{live_server.url}/feed/")
    assert feed.ok
    assert "Notes from the browser" in feed.text()
