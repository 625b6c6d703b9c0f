"""The writer's desk in a real Chromium: write with the Markdown editor, drag an image in, see
it in the preview, pick a featured image in the chooser, schedule, publish, and read the post
as a visitor with both images loaded. Keyboard-only chooser; an author sees only their own
media; a contributor cannot upload.

Screenshots at 1280 px and 390 px go to var/screenshots/ (not committed): look at them.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from blog import roles
from blog.models import Post
from media_library.models import MediaItem
from tests.blog.test_browser import chromium as chromium  # one Chromium per module
from tests.blog.test_browser import page as page  # a fresh context per test
from tests.factories import PASSWORD, make_user
from tests.media_library.test_upload import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def write_new_post(page, live_server, user, title: str, text: str) -> None:
    """Log in at 1280 px, open Add post, type a title and some text into the editor."""
    page.set_viewport_size(WIDE)
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}/admin/blog/post/add/")
    page.fill("#id_title", title)
    page.locator(".field-body .CodeMirror").click()
    page.keyboard.insert_text(text)


def natural_width(locator) -> int:
    locator.first.wait_for()
    locator.first.scroll_into_view_if_needed()
    return locator.first.evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(ok => "
        "{ img.onload = () => ok(img.naturalWidth); img.onerror = () => ok(0); })"
    )


def drop_image(page, selector: str, data: bytes, name: str, at: dict | None = None) -> None:
    """Drop a file on an element as the browser does for a file dragged from the desktop,
    at `at` ({"clientX", "clientY"}) when given."""
    transfer = page.evaluate_handle(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: "image/jpeg"}));
            return transfer;
        }""",
        [base64.b64encode(data).decode(), name],
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer, **(at or {})})


def point_of(page, line: int, ch: int) -> dict:
    """Where character `ch` of `line` is on the screen (CodeMirror's own measure)."""
    return page.evaluate(
        """([line, ch]) => {
            const cm = document.querySelector(".field-body .CodeMirror").CodeMirror;
            const box = cm.charCoords({line, ch}, "window");
            return {clientX: box.left + 1, clientY: (box.top + box.bottom) / 2};
        }""",
        [line, ch],
    )


def upload_as(user, name: str, color) -> MediaItem:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from media_library.services import media_upload

    item, _ = media_upload(
        file=SimpleUploadedFile(name, image_bytes((800, 600), color=color)), by=user, title=name
    )
    return item


def test_author_writes_drops_an_image_picks_a_featured_one_schedules_and_publishes(
    live_server, page
):
    author = make_user(roles.AUTHOR, username="wendy", first_name="Wendy")
    cover = upload_as(author, "Lighthouse", (30, 90, 160))
    write_new_post(
        page, live_server, author, "A walk to the lighthouse",
        "We walked **all the way** to the end of the pier.\n\n",
    )  # fmt: skip
    assert page.locator(".editor-statusbar .words").inner_text() == "11"

    # Drag an image from the desktop into the text, dropped after "We walked " while the
    # cursor is at the end: asked for its alt text, uploaded, inserted where it was dropped.
    at = point_of(page, 0, len("We walked "))
    drop_image(page, ".field-body .CodeMirror-lines", image_bytes((1200, 800)), "pier.jpg", at)
    page.fill(".desk-alt-dialog input", "The pier at low tide")
    page.keyboard.press("Enter")
    page.wait_for_selector(".desk-editor-status:has-text('pier.jpg uploaded')")
    dropped = MediaItem.objects.get(title="pier")
    assert dropped.alt_text == "The pier at low tide"
    assert page.input_value("#id_body").startswith(
        f"We walked ![The pier at low tide](media:{dropped.pk})**all the way**"
    )

    # The live preview, rendered by the server, shows the image loaded.
    page.click(".editor-toolbar button.side-by-side")
    preview = page.locator(".editor-preview-side")
    preview.locator("strong", has_text="all the way").wait_for()
    assert natural_width(preview.locator("img[alt='The pier at low tide']")) > 0
    shot(page, "editor-1280")

    # The featured image, chosen in the chooser.
    page.click("[data-featured-choose]")
    chooser = page.locator("dialog.desk-chooser")
    chooser.locator("button[data-id]").first.wait_for()
    assert chooser.locator("button[data-id]").count() == 2
    shot(page, "chooser-1280")
    chooser.locator(f"button[data-id='{cover.pk}']").click()
    assert page.input_value("#id_featured_image") == str(cover.pk)
    assert natural_width(page.locator(".desk-featured img")) > 0

    # Schedule for tomorrow, in the site's time zone.
    page.select_option("#id_status", "publish")
    page.check("input[name=publish_when][value=date]")
    tomorrow = timezone.localtime() + timedelta(days=1)
    page.fill("#id_published_at_0", f"{tomorrow:%Y-%m-%d}")
    page.fill("#id_published_at_1", f"{tomorrow:%H:%M:%S}")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    post = Post.objects.get(title="A walk to the lighthouse")
    assert post.status == Post.Status.FUTURE
    assert post.featured_image_id == cover.pk
    assert page.locator(".field-published_at").is_visible()

    # Then publish it now after all.
    page.check("input[name=publish_when][value=now]")
    assert not page.locator(".field-published_at").is_visible()
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert post.published_at <= timezone.now()

    page.set_viewport_size(NARROW)
    page.reload()
    page.locator(".field-body .CodeMirror").wait_for()
    shot(page, "editor-390")

    # A visitor sees both images loaded.
    visitor = page.context.browser.new_context()
    reader = visitor.new_page()
    reader.goto(f"{live_server.url}{post.get_absolute_url()}")
    assert natural_width(reader.locator("figure.featured img")) > 0
    assert natural_width(reader.locator(".entry-content img[alt='The pier at low tide']")) > 0
    visitor.close()


def test_chooser_by_keyboard_alone_shows_an_author_only_their_media(live_server, page):
    author = make_user(roles.AUTHOR, username="kim")
    someone = make_user(roles.AUTHOR, username="lee")
    roses = upload_as(author, "Roses", (200, 20, 20))
    tulips = upload_as(author, "Tulips", (220, 200, 20))
    upload_as(someone, "Not yours", (20, 20, 200))
    page.set_viewport_size(WIDE)
    log_in(page, live_server, author)
    page.goto(f"{live_server.url}/admin/blog/post/add/")
    page.focus(".field-body .CodeMirror textarea")

    page.keyboard.press("Control+Alt+m")
    chooser = page.locator("dialog.desk-chooser")
    chooser.locator("button[data-id]").first.wait_for()
    assert page.evaluate("document.activeElement.type") == "search"
    tiles = chooser.locator("button[data-id]")
    assert sorted(tiles.all_inner_texts()) == ["Roses", "Tulips"]  # never "Not yours"

    page.keyboard.type("tulip")
    chooser.locator(f"button[data-id='{roses.pk}']").wait_for(state="detached")
    page.keyboard.press("Control+a")
    page.keyboard.press("Backspace")
    chooser.locator(f"button[data-id='{roses.pk}']").wait_for()
    # Search, date, upload, then the grid; arrows move inside it.
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.id") == str(tulips.pk)
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.id") == str(roses.pk)
    shot(page, "chooser-keyboard-1280")
    page.keyboard.press("Enter")
    # Roses has no alt text: it is asked for.
    page.locator(".desk-alt-dialog input").wait_for()
    page.keyboard.type("A bunch of red roses")
    page.keyboard.press("Enter")
    # The dialog closes and the snippet lands asynchronously: wait, do not sample.
    chooser.wait_for(state="detached")
    snippet = f"![A bunch of red roses](media:{roses.pk})"
    page.wait_for_function("s => document.querySelector('#id_body').value.includes(s)", arg=snippet)
    assert snippet in page.input_value("#id_body")
    assert page.evaluate("document.activeElement.closest('.CodeMirror') !== null")
    roses.refresh_from_db()
    assert roses.alt_text == "A bunch of red roses"  # kept on the item: asked only once

    # Picked again: no question this time, the kept alt text goes in.
    page.keyboard.press("Control+Alt+m")
    chooser.locator(f"button[data-id='{roses.pk}']").click()
    chooser.wait_for(state="detached")
    page.wait_for_function(
        "s => document.querySelector('#id_body').value.split(s).length === 3", arg=snippet
    )
    assert page.locator(".desk-alt-dialog").count() == 0

    # Escape closes it without inserting anything.
    before = page.input_value("#id_body")
    page.keyboard.press("Control+Alt+m")
    chooser.locator("button[data-id]").first.wait_for()
    page.set_viewport_size(NARROW)
    shot(page, "chooser-390")
    page.keyboard.press("Escape")
    chooser.wait_for(state="detached")
    assert page.input_value("#id_body") == before


def test_a_contributor_gets_no_library_and_a_dropped_image_is_not_uploaded(live_server, page):
    contributor = make_user(roles.CONTRIBUTOR, username="connie")
    page.set_viewport_size(WIDE)
    log_in(page, live_server, contributor)
    page.goto(f"{live_server.url}/admin/blog/post/add/")
    page.locator(".field-body .CodeMirror").click()
    assert page.locator(".editor-toolbar button.add-media").count() == 0
    assert page.locator("[data-featured-choose]").count() == 0

    drop_image(page, ".field-body .CodeMirror-lines", image_bytes((400, 300)), "mine.jpg")
    page.wait_for_selector(".desk-editor-status:has-text('You may not upload images')")
    assert not MediaItem.objects.exists()
    assert page.input_value("#id_body") == ""


def test_editor_moderates_a_comment_in_place_on_the_dashboard(live_server, page):
    from tests.factories import make_comment, make_post

    editor = make_user(roles.EDITOR, username="edie")
    post = make_post(editor, title="Harbour notes")
    comment = make_comment(post, author_name="Pat", body="What a view!", status="pending")
    make_comment(post, author_name="Spammy", body="Buy now", status="pending")
    page.set_viewport_size(WIDE)
    log_in(page, live_server, editor)
    page.goto(f"{live_server.url}/admin/")
    shot(page, "dashboard-1280")
    assert page.inner_text("[data-glance=awaiting-moderation]") == "2"

    row = page.locator(f"li[data-comment='{comment.pk}']")
    row.locator("button[data-action=approve]").click()
    row.locator("text=Approved: the comment by Pat.").wait_for()
    assert page.inner_text("[data-glance=awaiting-moderation]") == "1"
    comment.refresh_from_db()
    assert comment.status == "approved"
    assert page.url == f"{live_server.url}/admin/"  # in place, no reload

    page.set_viewport_size(NARROW)
    page.emulate_media(color_scheme="dark")
    page.reload()
    shot(page, "dashboard-390-dark")


def test_unsaved_text_is_autosaved_and_offered_back_after_the_tab_closes(
    live_server, page, monkeypatch
):
    from blog.admin import PostAdmin
    from tests.factories import make_post

    monkeypatch.setattr(PostAdmin, "autosave_seconds", 1)  # a minute in production
    author = make_user(roles.AUTHOR, username="ali")
    post = make_post(author, title="Travel notes", body="Day one.", status="draft")
    url = f"{live_server.url}/admin/blog/post/{post.pk}/change/"
    log_in(page, live_server, author)
    page.goto(url)
    page.locator(".field-body .CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\n\nDay two, never saved.")
    page.wait_for_selector(".desk-autosave-status:has-text('Draft autosaved')")
    page.close()  # the tab is closed without saving

    again = page.context.new_page()
    again.goto(url)
    again.locator("[data-autosave-offer]").wait_for()
    again.set_viewport_size(WIDE)
    shot(again, "autosave-offer-1280")
    again.click("[data-autosave-restore]")
    again.locator(".CodeMirror-line", has_text="Day two, never saved.").wait_for()
    assert "Day two, never saved." in again.input_value("#id_body")
    post.refresh_from_db()
    assert post.body == "Day one."  # nothing saved until the writer saves
    assert post.revisions.count() == 0


def hide_tab(page) -> None:
    """What a browser tells a page when its tab is switched away from or closed."""
    page.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', "
        "{value: 'hidden', configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )


def test_text_typed_into_add_post_is_a_draft_after_the_first_autosave(
    live_server, page, monkeypatch
):
    from blog.admin import PostAdmin
    from blog.models import Autosave

    monkeypatch.setattr(PostAdmin, "autosave_seconds", 3600)  # the test says when
    author = make_user(roles.AUTHOR, username="ana")
    write_new_post(
        page, live_server, author, "Never saved", "Typed into a new post and never saved."
    )
    hide_tab(page)  # as when the tab is closed: the autosave goes at once
    page.wait_for_selector(".desk-autosave-status:has-text('Draft autosaved')")
    post = Post.objects.get()
    assert (post.status, post.title) == ("draft", "Never saved")
    # The address bar now names the draft: a reload (or reopening it) finds the text.
    change = f"{live_server.url}/admin/blog/post/{post.pk}/change/"
    assert page.url == change
    page.reload()
    page.locator(".CodeMirror-line", has_text="never saved.").wait_for()
    assert page.input_value("#id_title") == "Never saved"

    # From here it is a saved draft: more text is an autosave of it, offered back after a
    # closed tab; saving updates this post, it makes no second one.
    page.locator(".field-body .CodeMirror").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(" Then some more.")
    hide_tab(page)
    page.wait_for_selector(".desk-autosave-status:has-text('Draft autosaved')")
    assert Autosave.objects.get(post=post).body.endswith("Then some more.")
    page.close()
    again = page.context.new_page()
    again.goto(change)
    again.click("[data-autosave-restore]")
    again.locator(".CodeMirror-line", has_text="Then some more.").wait_for()
    again.click("input[name=_continue]")
    again.wait_for_selector(".messagelist .success")
    assert Post.objects.count() == 1
    post.refresh_from_db()
    assert post.body == "Typed into a new post and never saved. Then some more."


@pytest.mark.parametrize("width", [1280, 1024])
def test_post_and_media_lists_fit_a_laptop_and_a_tablet(live_server, page, width):
    from tests.factories import make_category, make_post

    editor = make_user(roles.EDITOR, username="edna")
    travel = make_category("Travel and slow journeys")
    for n in range(6):
        make_post(
            editor, title=f"A rather long title for a post about harbours, number {n}",
            categories=[travel],
        )  # fmt: skip
    for n, color in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200)]):
        upload_as(editor, f"Harbour photograph {n}", color)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, editor)
    for name, path in (("posts", "blog/post"), ("media", "media_library/mediaitem")):
        page.goto(f"{live_server.url}/admin/{path}/")
        table = page.locator("#result_list")
        table.wait_for()
        fits = page.evaluate(
            "() => { const t = document.querySelector('#result_list');"
            " return t.getBoundingClientRect().right <= document.documentElement.clientWidth; }"
        )
        shot(page, f"list-{name}-{width}")
        assert fits, f"the {name} list is wider than the window at {width} px"
        if name == "posts":
            headers = page.locator("#result_list thead th").all_inner_texts()
            assert {"STATUS", "CATEGORIES", "COMMENTS"} <= {h.strip().upper() for h in headers}
        else:
            assert natural_width(page.locator("#result_list .field-thumbnail img")) > 0
