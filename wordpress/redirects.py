"""Old WordPress URLs answered with a 301 to their new place, so links keep working.

- Before the view, and only for requests that look like WordPress (no work for any
  other): `/?p=`, `/?page_id=`, `/?attachment_id=`, `/?cat=`, `/?tag=`, `/?author=`,
  `/?s=`, `/?feed=`, `/?m=`, `/?paged=`; `/wp-content/uploads/...`; `/wp-login.php`,
  `/wp-admin/`; `/feed/rss2/` and the other feed variants; `/page/N/`.
- After the view, only when it answered 404: the old permalink (each imported post and
  page remembers its path), the permalink structure given at import
  (`/%year%/%monthnum%/%day%/%postname%/`, `/archives/%post_id%`, ...), nested category
  paths.

Each answer is one query (joining the object) and is then kept in the cache under the
page cache's generation, so any content change forgets it. Only what anyone may read is
redirected to (a draft's or a private post's new URL would give its slug away); anything
unknown is the site's normal 404. Sits last in MIDDLEWARE: the page cache in front stores
these 301s and 404s like any page.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Q
from django.http import Http404, HttpResponsePermanentRedirect
from django.urls import reverse

from blog.models import Post
from webtier.page_cache import GENERATION_KEY
from wordpress.models import ImportedItem

Kind = ImportedItem.Kind
CACHE_SECONDS = 3600
_NONE = "-"  # cached "no such old URL" (a request-phase miss; 404s are not cached here)
_UPLOADS = "/wp-content/uploads/"
_SIZE_SUFFIX = re.compile(r"-\d+x\d+(?=\.\w+$)")
_QUERY_KEYS = ("p", "page_id", "attachment_id", "cat", "tag", "author", "s", "feed", "m", "paged")
_FEED_VARIANT = re.compile(r"^(.*/)?feed/(?:rss2?|rdf)/?$")
_PAGED = re.compile(r"^(.*/)?page/(\d+)/?$")
_CATEGORY_PATH = re.compile(r"^/category/(?:[^/]+/)*([^/]+)/?$")
_STRUCTURE_TAGS = {
    "%year%": r"(?P<year>\d{4})",
    "%monthnum%": r"\d{1,2}",
    "%day%": r"\d{1,2}",
    "%hour%": r"\d{1,2}",
    "%minute%": r"\d{1,2}",
    "%second%": r"\d{1,2}",
    "%post_id%": r"(?P<post_id>\d+)",
    "%postname%": r"(?P<postname>[^/]+)",
    "%category%": r".+?",
    "%author%": r"[^/]+",
}
_STRUCTURE_TAG = re.compile("|".join(re.escape(t) for t in _STRUCTURE_TAGS))


def structure_regex(structure: str) -> re.Pattern | None:
    """WordPress's permalink structure as a regular expression over a path."""
    structure = structure.strip()
    if "%" not in structure:
        return None
    parts, last = [], 0
    for m in _STRUCTURE_TAG.finditer(structure):
        parts.append(re.escape(structure[last : m.start()]))
        parts.append(_STRUCTURE_TAGS[m.group(0)])
        last = m.end()
    parts.append(re.escape(structure[last:]))
    pattern = "".join(parts).rstrip("/")
    return re.compile(f"^/?{pattern.lstrip('/')}/?$")


def _cached(key: str, compute) -> str | None:
    """One round trip to the cache; on a miss, `compute()` (one query) and keep it."""
    key = f"wp-old-url:{key}"[:240]
    got = cache.get_many([GENERATION_KEY, key])
    generation = got.get(GENERATION_KEY) or 0
    entry = got.get(key)
    if entry and entry[0] == generation:
        return None if entry[1] == _NONE else entry[1]
    target = compute()
    cache.set(key, (generation, target or _NONE), timeout=CACHE_SECONDS)
    return target


def _public_post(condition: Q) -> str | None:
    post = (
        Post.objects.published()
        .filter(condition)
        .only("kind", "slug", "path", "published_at", "created_at")
        .order_by("-wordpress_items__site_id")
        .first()
    )
    return post.get_absolute_url() if post else None


def _item_target(item: ImportedItem | None) -> str | None:
    if item is None:
        return None
    if item.category_id:
        return item.category.get_absolute_url()
    if item.tag_id:
        return item.tag.get_absolute_url()
    if item.user_id:
        return reverse("blog:author", args=[item.user.get_username()])
    if item.media_id:
        return item.media.get_absolute_url()
    return None


def _item(**lookup) -> str | None:
    found = (
        ImportedItem.objects.filter(**lookup)
        .select_related("category", "tag", "user", "media")
        .order_by("-site_id")
        .first()
    )
    return _item_target(found)


def _digits(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


def _from_query(request) -> str | bool | None:
    """Where `/?key=value` went; False: not an old URL at all."""
    query = request.GET
    if "s" in query:
        words = query.get("s", "").strip()
        return reverse("blog:search") + (f"?{urlencode({'q': words})}" if words else "")
    if "feed" in query:
        kind = query.get("feed", "")
        return reverse("blog:comments-feed" if kind.startswith("comments") else "blog:feed")
    if "paged" in query and len(query) == 1:
        return f"/?page={_digits(query['paged']) or 1}"
    if "m" in query and re.fullmatch(r"\d{4}(\d{2}){0,2}", query["m"]):
        m = query["m"]
        args = [int(m[:4])] + [int(m[i : i + 2]) for i in range(4, len(m), 2)]
        names = {1: "blog:archive-year", 2: "blog:archive-month", 3: "blog:archive-day"}
        return reverse(names[len(args)], args=args)
    for key, kinds in (("p", (Kind.POST, Kind.PAGE)), ("page_id", (Kind.PAGE, Kind.POST))):
        if key in query:
            wp_id = _digits(query[key])
            if wp_id is None:
                return None
            return _cached(
                f"{key}={wp_id}",
                lambda wp_id=wp_id, kinds=kinds: _public_post(
                    Q(wordpress_items__wp_id=wp_id, wordpress_items__kind__in=kinds)
                ),
            )
    simple = {"attachment_id": Kind.ATTACHMENT, "cat": Kind.CATEGORY, "author": Kind.AUTHOR}
    for key, kind in simple.items():
        if key in query:
            wp_id = _digits(query[key])
            if wp_id is None:
                return None
            return _cached(
                f"{key}={wp_id}", lambda kind=kind, wp_id=wp_id: _item(kind=kind, wp_id=wp_id)
            )
    if "tag" in query:
        slug = query["tag"].strip()[:200]
        return _cached(f"tag={slug}", lambda: _item(kind=Kind.TAG, old_slug=slug))
    return False


def _from_path(path: str) -> str | bool | None:
    """Where a WordPress-only path went; False: not such a path."""
    if path.startswith(_UPLOADS):
        rel = path[len(_UPLOADS) :]
        stripped = _SIZE_SUFFIX.sub("", rel)
        return _cached(
            f"uploads:{rel}",
            lambda: _item(kind=Kind.ATTACHMENT, old_path__in=[rel, stripped]),
        )
    if path == "/wp-login.php":
        return reverse("blog:login")
    if path == "/wp-admin" or path.startswith("/wp-admin/"):
        return reverse("admin:index")
    feed = _FEED_VARIANT.match(path)
    if feed:
        return f"{feed.group(1) or '/'}feed/"
    paged = _PAGED.match(path)
    if paged:
        return f"{paged.group(1) or '/'}?page={paged.group(2)}"
    return False


def _after_404(path: str) -> str | None:
    """One query over what the old site's paths, ids and slugs became.

    Candidates come from the path alone (its number segments may be a %post_id%, its last
    segment a %postname%), limited to sites whose structure has that tag; the row found
    is then checked against its site's whole structure.
    """
    posts = (Kind.POST, Kind.PAGE)
    bare = path.rstrip("/")
    segments = [s for s in bare.split("/") if s]
    condition = Q(old_path__in={path, bare + "/", bare}, kind__in=posts)
    if segments:
        condition |= Q(
            kind__in=posts,
            old_slug=segments[-1][:200],
            site__permalink_structure__contains="%postname%",
        )
        numbers = [int(s) for s in segments[-3:] if s.isdigit() and len(s) < 19]
        if numbers:
            condition |= Q(
                kind__in=posts, wp_id__in=numbers, site__permalink_structure__contains="%post_id%"
            )
    category = _CATEGORY_PATH.match(path)
    if category:
        condition |= Q(kind=Kind.CATEGORY, old_slug=category.group(1)[:200])
    found = (
        ImportedItem.objects.filter(condition)
        .filter(Q(post__isnull=True) | Q(post__in=Post.objects.published()))
        .select_related("site", "post", "category")
        .order_by("-site_id")[:5]
    )
    for item in found:
        if item.post_id is None:
            return _item_target(item)
        if item.old_path.rstrip("/") == bare:
            return item.post.get_absolute_url()
        pattern = structure_regex(item.site.permalink_structure)
        m = pattern.match(path) if pattern else None
        if m is None:
            continue
        named = m.groupdict()
        if named.get("post_id") and int(named["post_id"]) != item.wp_id:
            continue
        if named.get("postname") and named["postname"] != item.old_slug:
            continue
        return item.post.get_absolute_url()
    return None


class OldUrlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        path = request.path
        target: str | bool | None = False
        if path == "/" and any(key in request.GET for key in _QUERY_KEYS):
            target = _from_query(request)
        elif path.startswith(("/wp-", "/feed/", "/page/")) or "/feed/r" in path or "/page/" in path:
            target = _from_path(path)
        if target is None:
            raise Http404("No such old address.")
        if target:
            return HttpResponsePermanentRedirect(target)
        response = self.get_response(request)
        if response.status_code == 404:
            target = _after_404(path)
            if target and target != path:
                return HttpResponsePermanentRedirect(target)
        return response
