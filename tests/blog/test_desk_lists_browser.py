"""The Comments and Pages lists in a real Chromium, at a laptop's 1280 px and a phone's
390 px, light and dark: nothing wider than the window, and a comment moderated from its
row comes back to the same filtered list. Screenshots go to var/screenshots/: look at them.
"""

from __future__ import annotations

import pytest

from blog import roles
from blog.models import Comment
from tests.blog.test_browser import chromium as chromium  # one Chromium per module
from tests.blog.test_browser import page as page  # a fresh context per test
from tests.blog.test_desk_browser import NARROW, WIDE, log_in, shot
from tests.factories import make_comment, make_page, make_post, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_comments_and_pages_lists_fit_a_laptop_and_a_phone_and_moderate_from_a_row(
    live_server, page
):
    editor = make_user(roles.EDITOR, username="edna", first_name="Edna")
    post = make_post(editor, title="A rather long title for a post about harbours and their boats")
    first = make_comment(
        post,
        author_name="Patricia Longname-Harbourmaster",
        author_email="patricia.longname-harbourmaster@example-harbours.org",
        body="What a view! " * 30,
    )
    waiting = make_comment(
        post, parent=first, author_name="Sam", author_email="sam@example.org",
        body="I agree, the boats at dusk are the best part.", status="pending",
    )  # fmt: skip
    make_comment(post, author_name="Spammy", body="Buy now " * 20, status="pending")
    about = make_page(editor, title="About this harbour blog", slug="about")
    team = make_page(editor, title="The team who writes it", slug="team", parent=about)
    make_page(editor, title="Alice, the harbour master", slug="alice", parent=team)
    make_page(editor, title="Contact", slug="contact", status="draft")
    log_in(page, live_server, editor)

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for size in (WIDE, NARROW):
            page.set_viewport_size(size)
            for name in ("comment", "page"):
                page.goto(f"{live_server.url}/admin/blog/{name}/")
                page.locator("#result_list").wait_for()
                shot(page, f"list-{name}s-{size['width']}-{scheme}")
                overflow = page.evaluate(OVERFLOW)
                assert overflow <= 0, f"{name}s list {overflow} px too wide at {size['width']}"
    page.emulate_media(color_scheme="light")

    # The tree, indented.
    titles = page.locator("#result_list .desk-title").all_inner_texts()
    assert titles == [
        "About this harbour blog",
        "— The team who writes it",
        "— — Alice, the harbour master",
        "Contact — Draft",
    ]

    # Approve from the row, by keyboard, on a phone: back on the same filtered list.
    page.goto(f"{live_server.url}/admin/blog/comment/?status=pending")
    row = page.locator("#result_list tr", has_text="sam@example.org")
    row.get_by_text("Approve", exact=True).focus()
    page.keyboard.press("Enter")
    page.locator(".messagelist .success", has_text="Approved: the comment by Sam.").wait_for()
    assert page.url.endswith("/admin/blog/comment/?status=pending")
    assert page.locator("#result_list tr", has_text="sam@example.org").count() == 0
    waiting.refresh_from_db()
    assert waiting.status == Comment.Status.APPROVED
