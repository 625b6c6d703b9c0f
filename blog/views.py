"""The public site: thin views over the services and query sets.

Every list page costs a constant number of queries: posts come through
`for_listing()` (author and featured image joined, categories and tags prefetched,
loaded by primary key after the page's IDs came from an index)
and comment counts are denormalized on the post.
"""

from __future__ import annotations

import functools
import sys
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.dateformat import format as date_format
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from blog import services
from blog.apps import PRIVATE_PATHS, UNCACHED_PATHS
from blog.forms import CommentForm, PostPasswordForm, ProfileForm, SearchForm
from blog.listing import listing_page
from blog.models import Category, Comment, Post, Tag
from blog.site_settings import site_settings
from webtier import throttle
from webtier.holes import mark_personal
from webtier.page_cache import cached_fragment
from webtier.request import client_ip
from webtier.routing import is_writer_unavailable

_UNLOCKED_SESSION_KEY = "blog_unlocked_posts"


# --- helpers ----------------------------------------------------------------


def _paginate(request, queryset):
    """One page of posts: IDs through the listing index, then the page's rows by key.

    Sorting while joining authors and media makes MariaDB start from the small users
    table and sort every matching post (17 ms at 1,000 posts, measured); the ID
    query walks (kind, sticky, published_at) in order and stops after one page. The
    count and deep pages cost the same at any size (blog/listing.py).
    """
    scope = f"{request.path}?{request.GET.get('q', '')}"
    try:
        number = request.GET.get("page", 1)
        page = listing_page(
            queryset, number=number, per_page=site_settings().posts_per_page, scope=scope
        )
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such page") from None
    ids = list(page.object_list)
    rows = Post.objects.for_listing().in_bulk(ids)
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def _render_list(request, queryset, *, shared: bool = True, **context):
    """A list page. Its posts and pagination are the same for every visitor, so they
    are rendered once per change into a shared fragment (webtier/page_cache.py)."""
    try:
        number = int(request.GET.get("page", 1))
    except ValueError:
        number = 0  # _paginate answers 404

    def items() -> str:
        page = _paginate(request, queryset)
        listing = {"page_obj": page, "posts": page.object_list, **context}
        return render_to_string("blog/_post_list_items.html", listing)

    listing = cached_fragment(f"list:{request.get_full_path()}", items) if shared else items()
    return render(
        request,
        "blog/post_list.html",
        {"listing": mark_safe(listing), "page_number": number, **context},
    )


def _post_list(
    request, queryset, *, heading: str, description: str = "", feeds=None, shared=True, **extra
):
    return _render_list(
        request,
        queryset.order_by("-published_at", "-id"),
        heading=heading,
        description=description,
        feeds=feeds or [],
        shared=shared,
        **extra,
    )


def _password_token(post: Post) -> str:
    # Tied to the current password: changing it locks out everyone who had unlocked it.
    return salted_hmac("blog.post-password", f"{post.pk}:{post.password}").hexdigest()


def _is_unlocked(request, post: Post) -> bool:
    if not post.password or services.post_can_edit(user=request.user, post=post):
        return True
    token = request.session.get(_UNLOCKED_SESSION_KEY, {}).get(str(post.pk))
    return bool(token) and constant_time_compare(token, _password_token(post))


def _comment_tree(post: Post) -> list[Comment]:
    """Approved comments as a tree, from one query; never loads emails or addresses."""
    comments = list(
        post.comments.approved().only(
            "id", "post_id", "parent_id", "author_name", "author_url", "body_html", "created_at"
        )
    )
    by_id = {c.pk: c for c in comments}
    roots = []
    for c in comments:
        c.children = []
    for c in comments:
        parent = by_id.get(c.parent_id)
        (parent.children if parent else roots).append(c)

    def _depth(nodes, depth):
        for node in nodes:
            node.depth = depth
            node.can_reply = depth < settings.COMMENT_THREAD_DEPTH
            _depth(node.children, depth + 1)

    _depth(roots, 1)
    return roots


def _render_post(request, post: Post, *, form=None, status=200, preview=False):
    if post.password:
        # Who unlocked it, or may edit it, reads the text: signed-in readers get it whole.
        mark_personal()
    if not _is_unlocked(request, post):
        return render(
            request,
            "blog/post_password.html",
            {"post": post, "form": PostPasswordForm()},
            status=status,
        )
    reply_to = request.GET.get("replyto")
    if form is None:
        initial = {"parent": reply_to} if reply_to and reply_to.isdigit() else {}
        form = CommentForm(user=request.user, initial=initial)

    def article() -> str:
        comments = _comment_tree(post) if post.is_public else []
        return render_to_string("blog/_post_article.html", {"post": post, "comments": comments})

    # What every reader of a public post sees is rendered once per change; the edit
    # link and who is commenting are the reader's own (holes in the templates).
    shared = post.is_public and not post.password and not preview
    context = {
        "post": post,
        "article": mark_safe(cached_fragment(f"post:{post.pk}", article) if shared else article()),
        "comment_form": form,
        "preview": preview,
    }
    template = "blog/page_detail.html" if post.kind == Post.Kind.PAGE else "blog/post_detail.html"
    return render(request, template, context, status=status)


def _csrf_rejected(request):
    """CSRF for logged-in visitors only, as WordPress does for comments.

    Anonymous readers get pages from the shared page cache, which cannot hold a
    per-visitor token; a forged anonymous comment or unlock acts for nobody.
    """
    if not request.user.is_authenticated:
        return None
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})


def _readable(request, post: Post) -> Post:
    if not services.post_can_read(user=request.user, post=post):
        raise Http404("No such post")
    return post


def _detail_queryset():
    # Categories and tags are read by the template only when the shared fragment
    # has to be rendered, so they are not prefetched here.
    return Post.objects.select_related("author", "featured_image")


# --- lists ------------------------------------------------------------------


@require_safe
def home(request):
    posts = Post.objects.posts().published().order_by("-sticky", "-published_at", "-id")
    return _render_list(request, posts, is_home=True)


@require_safe
def category(request, slug):
    category = get_object_or_404(Category, slug=slug)
    posts = Post.objects.posts().published().in_categories(category.subtree_ids())
    return _post_list(
        request,
        posts,
        heading=f"Category: {category.name}",
        description=category.description,
        feeds=[("RSS", reverse("blog:category-feed", args=[slug]))],
        archive_object=category,
    )


@require_safe
def tag(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    return _post_list(
        request,
        Post.objects.posts().published().with_tag(tag),
        heading=f"Tag: {tag.name}",
        description=tag.description,
        feeds=[("RSS", reverse("blog:tag-feed", args=[slug]))],
        archive_object=tag,
    )


@require_safe
def author(request, username):
    user = get_object_or_404(get_user_model(), username=username, is_active=True)
    posts = Post.objects.posts().published().filter(author=user)
    return _post_list(
        request,
        posts,
        heading=f"Posts by {user.get_full_name() or user.get_username()}",
        feeds=[("RSS", reverse("blog:author-feed", args=[username]))],
    )


def _date_range(year: int, month: int | None = None, day: int | None = None):
    """The archive's [start, end) in the site's zone; 404 for what is not a date.

    Month or day 00, 31 February, and ranges a datetime cannot hold (the end of
    year 9999, or a zone shift past year 1) are all "no such archive", never a 500.
    """
    if month == 0 or day == 0:
        raise Http404("No such date")
    tz = timezone.get_current_timezone()
    try:
        start = datetime(year, month or 1, day or 1, tzinfo=tz)
        if day:
            end = start + timedelta(days=1)
        elif month:
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
        else:
            end = datetime(year + 1, 1, 1, tzinfo=tz)
        # The database compares in UTC: both ends must survive the conversion.
        start.astimezone(UTC), end.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Http404("No such date") from None
    return start, end


@require_safe
def archive(request, year, month=None, day=None):
    start, end = _date_range(year, month, day)
    posts = Post.objects.posts().published().filter(published_at__gte=start, published_at__lt=end)
    fmt = "j F Y" if day else "F Y" if month else "Y"
    return _post_list(request, posts, heading=f"Archive: {date_format(start, fmt)}")


@require_safe
def search(request):
    """Full-text search (blog/services/search.py): title matches first, then relevance.

    Not a shared fragment: every query would be a key of its own.
    """
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    results = services.post_search(query=query)
    paginator = Paginator(results, site_settings().posts_per_page)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such page") from None
    hits = list(page.object_list)
    rows = Post.objects.for_listing().in_bulk([hit.post_id for hit in hits])
    page.object_list = []
    for hit in hits:
        if post := rows.get(hit.post_id):
            post.search_hit = hit
            page.object_list.append(post)
    listing = render_to_string(
        "blog/_post_list_items.html",
        {"page_obj": page, "posts": page.object_list, "query": query},
    )
    context = {
        "listing": mark_safe(listing),
        "page_number": page.number,
        "heading": f"Search results for “{query}”" if query else "Search",
        "query": query,
        "unsearchable": bool(query) and not results.searchable,
        "found": _found(results) if results.searchable else "",
        "feeds": [],
    }
    return render(request, "blog/post_list.html", context)


def _found(results) -> str:
    """ "3 posts found", or "About 48,070 posts found" when the count is an estimate
    (a word in many posts: README, "Search")."""
    count = results.count()
    line = f"{count:,} post{pluralize(count)} found"
    return f"About {line}" if results.approximate else line


# --- single posts and pages -------------------------------------------------


@require_safe
def post_detail(request, year, month, slug):
    post = _readable(request, get_object_or_404(_detail_queryset().posts(), slug=slug))
    when = timezone.localtime(post.published_at or post.created_at)
    if (year, month) != (when.year, when.month):
        return redirect(post, permanent=True)
    return _render_post(request, post)


@require_safe
def page_detail(request, path):
    post = get_object_or_404(_detail_queryset().pages(), path=path.strip("/"))
    return _render_post(request, _readable(request, post))


@never_cache
@login_required
@require_safe
def preview(request, pk):
    post = get_object_or_404(_detail_queryset(), pk=pk)
    if not services.post_can_edit(user=request.user, post=post):
        raise Http404("No such post")
    return _render_post(request, post, preview=True)


@csrf_exempt
@require_POST
def post_unlock(request, pk):
    if rejected := _csrf_rejected(request):
        return rejected
    post = get_object_or_404(Post.objects.readable_by(request.user), pk=pk)
    form = PostPasswordForm(request.POST)
    # Throttled like a login (webtier/throttle.py): per post and address, and per address.
    account = f"{throttle.POST_PASSWORD_PREFIX}{post.pk}"
    if (
        not throttle.password_door_locked(request, account=account)
        and form.is_valid()
        and post.password
        and constant_time_compare(form.cleaned_data["password"], post.password)
    ):
        unlocked = request.session.get(_UNLOCKED_SESSION_KEY, {})
        unlocked[str(post.pk)] = _password_token(post)
        request.session[_UNLOCKED_SESSION_KEY] = unlocked
        return redirect(post)
    # At the limit, the axes middleware answers 429 with Retry-After instead of this page.
    throttle.password_door_failed(request, account=account)
    form.add_error("password", "That password is not right.")
    return render(request, "blog/post_password.html", {"post": post, "form": form}, status=403)


def _comment_refused(request, post: Post, refusal: services.CommentRefused):
    if refusal.status != 429:
        return HttpResponseBadRequest(str(refusal))
    response = render(request, "blog/comment_limited.html", {"post": post}, status=429)
    response["Retry-After"] = str(refusal.retry_after)
    return response


@csrf_exempt
@require_POST
def comment_post(request, pk):
    if rejected := _csrf_rejected(request):
        return rejected
    post = get_object_or_404(_detail_queryset().published(), pk=pk)
    form = CommentForm(request.POST, user=request.user)
    ip = client_ip(request)
    try:
        services.comment_admit(post=post, honeypot=form.honeypot(), ip=ip)
    except services.CommentRefused as refusal:
        return _comment_refused(request, post, refusal)
    if form.is_valid():
        try:
            comment = services.comment_submit(
                post=post,
                **form.submission(),
                user=request.user,
                ip=ip,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if comment.status == Comment.Status.APPROVED:
                return redirect(comment.get_absolute_url())
            messages.info(request, "Thank you. Your comment is awaiting moderation.")
            return redirect(f"{post.get_absolute_url()}#respond")
    if not _is_unlocked(request, post):
        raise Http404("No such post")
    return _render_post(request, post, form=form, status=400)


# --- accounts ----------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Staff land on the admin's dashboard, everyone else on their profile; `next` wins."""

    def get_default_redirect_url(self):
        if self.request.user.is_staff:
            return reverse("admin:index")
        return super().get_default_redirect_url()


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=request.user, **form.cleaned_data)
        messages.success(request, "Your profile was saved.")
        return redirect("blog:profile")
    return render(request, "registration/profile.html", {"form": form})


# --- plumbing ---------------------------------------------------------------


@require_safe
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("sitemap"))
    lines = [
        "User-agent: *",
        *(f"Disallow: {path}" for path in (*PRIVATE_PATHS, *UNCACHED_PATHS)),
        "",
        f"Sitemap: {sitemap}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


@functools.cache
def _favicon() -> bytes | None:
    found = finders.find("favicon.ico")
    if not found:
        return None
    with open(found, "rb") as icon:
        return icon.read()


@require_safe
def favicon_ico(request):
    """Browsers ask for /favicon.ico on their own, whatever the page's <link rel=icon> says:
    answer it here rather than with a 301 to a 404 (no trailing slash, no such page)."""
    icon = _favicon()
    if icon is None:
        raise Http404("No favicon.ico in the static files.")
    response = HttpResponse(icon, content_type="image/vnd.microsoft.icon")
    patch_cache_control(response, public=True, max_age=86400)
    return response


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors, no database: this page must render when everything is down.
    # Django calls handler500 inside its `except`, so the failure is still at hand.
    # A writer that is gone (failover, outage) is not a bug: say "try again soon".
    if is_writer_unavailable(sys.exc_info()[1]):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(settings.WRITER_RETRY_AFTER)
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)
