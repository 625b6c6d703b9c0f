"""What a signed-in reader sees in the theme's holes (webtier/holes.py).

Each function renders one hole from the request alone: the user (from Redis, with their
permissions: webtier/users.py), the session, the CSRF token. No template and no list of
posts: they run on every signed-in page view the page cache answers. Registered in
BlogConfig.ready(); the anonymous version of each is the block in the template.
"""

from __future__ import annotations

from functools import lru_cache

from django.core.signals import setting_changed
from django.middleware.csrf import get_token
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html

from blog.models import Post
from blog.services.permissions import post_can_edit


@lru_cache(maxsize=1024)
def _reversed(name: str, args: tuple, prefix: str) -> str:
    return reverse(name, args=args)


# A test that swaps the URLconf (as Django's own URL caches are cleared then).
setting_changed.connect(lambda **kwargs: _reversed.cache_clear(), weak=False)


def _url(name: str, *args) -> str:
    """reverse(), remembered: every signed-in page view asks for the same few URLs."""
    return _reversed(name, args, get_script_prefix())


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def account_link(request) -> str:
    """The footer's "Log in", for someone who is."""
    return format_html(
        'Signed in as {} · <a href="{}">Your profile</a>',
        _name(request.user),
        _url("blog:profile"),
    )


def staff_link(request) -> str:
    """The menu's way to the writer's desk, for staff."""
    if not request.user.is_staff:
        return ""
    return format_html('<li><a href="{}">Dashboard</a></li>', _url("admin:index"))


def edit_link(request, *, pk: int, kind: str, author: int | None, status: str) -> str:
    """The "Edit this post" link, for whoever may: decided from what the page was rendered
    with (its author and status), so no query for the post."""
    if not request.user.is_staff:  # only staff edit (post_can_edit): no post to build
        return ""
    # As if loaded with .only(): building a Post would compute every field's default, and
    # comment_status's default reads the site settings from Redis.
    post = Post.from_db(None, ["id", "kind", "author_id", "status"], [pk, kind, author, status])
    if not post_can_edit(user=request.user, post=post):
        return ""
    name = "admin:blog_page_change" if kind == Post.Kind.PAGE else "admin:blog_post_change"
    return format_html(
        '<p class="edit-link"><a href="{}">Edit this {}</a></p>', _url(name, pk), kind
    )


def csrf_input(request) -> str:
    """A signed-in visitor's forms carry their token (anonymous ones need none)."""
    return format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
    )


def commenter(request) -> str:
    """Instead of the name, email and website fields: who is commenting, and their token."""
    return format_html(
        '{}<p class="logged-in-as">Commenting as {}. <a href="{}">Edit your profile</a>.</p>',
        csrf_input(request),
        _name(request.user),
        _url("blog:profile"),
    )


HOLES = {
    "account-link": account_link,
    "staff-link": staff_link,
    "edit-link": edit_link,
    "csrf-input": csrf_input,
    "commenter": commenter,
}
