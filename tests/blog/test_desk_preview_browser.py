"""The editor's preview shows a post in the public theme's typography (css/entry.css,
scoped to the preview pane), not in the admin's: the same fonts, sizes and spacing as the
post's own page, in light and dark. Screenshots go to var/screenshots/: look at them."""

from __future__ import annotations

import pytest

from blog import roles
from tests.blog.test_browser import chromium as chromium  # one Chromium per module
from tests.blog.test_browser import page as page  # a fresh context per test
from tests.blog.test_desk_browser import WIDE, log_in, shot
from tests.factories import make_post, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = """\
## Getting there

We took the early ferry with `tickets.txt` and a [timetable](https://example.com/).

- Sandwiches
- A flask of tea

> The sea was calm.

```
ferry --early
```
"""

# What makes typography, per element of the body: read in the preview and on the page.
MEASURE = """root => Object.fromEntries(
  ["h2", "p", "li", "p code", "pre", "blockquote", "ul", "a"].map(selector => {
    const style = getComputedStyle(document.querySelector(`${root} ${selector}`));
    return [selector, [style.fontFamily, style.fontSize, style.lineHeight, style.fontWeight,
      style.marginBottom, style.paddingLeft, style.borderLeftWidth, style.textDecorationLine]];
  }))"""


def test_the_preview_looks_like_the_public_post(live_server, page):
    author = make_user(roles.AUTHOR, username="tess")
    post = make_post(author, title="Ferry day", body=BODY)
    page.set_viewport_size(WIDE)
    log_in(page, live_server, author)
    change = f"{live_server.url}/admin/blog/post/{post.pk}/change/"
    page.goto(change)
    page.click(".editor-toolbar button.side-by-side")
    page.locator(".editor-preview-side pre").wait_for()
    in_preview = page.evaluate(MEASURE, ".editor-preview-side")
    page.locator(".field-body").scroll_into_view_if_needed()
    shot(page, "preview-1280-light")

    page.emulate_media(color_scheme="dark")
    page.reload()
    page.click(".editor-toolbar button.side-by-side")
    page.locator(".editor-preview-side pre").wait_for()
    page.locator(".field-body").scroll_into_view_if_needed()
    shot(page, "preview-1280-dark")
    dark_text = page.evaluate(
        "() => getComputedStyle(document.querySelector('.editor-preview-side p')).color"
    )
    assert dark_text != "rgb(29, 35, 39)"  # the admin's dark text, not the theme's light one

    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}{post.get_absolute_url()}")
    on_the_page = page.evaluate(MEASURE, ".entry-content")
    assert in_preview == on_the_page
    assert on_the_page["p"][1] == "17px"  # the theme's 1.0625rem, not the admin's 13-14 px
