"""Import a WXR file: the report, the run's state, authors and terms (the door is services.py).

How a run goes:
1. The whole file is read once (wordpress/wxr.py `scan`) without writing anything: a
   file that is not WXR, is truncated or malformed, or declares a DTD is refused here and
   the site stays as it was. The counts give the progress bar its total.
2. First pass: authors, categories and tags (a child category may come before its
   parent), attachments into the media library. Second pass: posts and pages with their
   comments (pages whose parent comes later, or never, wait for the end). Then the
   hierarchy is completed: category parents, page parents.
3. Every record is written through the blog's and the media library's services, in
   batches of one transaction each; a failing record is rolled back alone (a savepoint)
   and reported. Each imported object remembers its WordPress id (wordpress/models.py),
   so a second run of the same file adds nothing and an interrupted one continues where
   it stopped; a dry run does everything in one transaction and rolls it back.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.text import slugify

from blog import roles, services
from blog.models import Category, Comment, Tag
from wordpress import wxr
from wordpress.models import ImportedItem, OldSite

logger = logging.getLogger(__name__)

Kind = ImportedItem.Kind
OUTCOMES = ("created", "updated", "skipped", "failed")
MAX_FAILURES = 1000
CONFLICT_REASON = "changed in WordPress and edited here since the import; kept the copy here"
_SLUG = re.compile(r"^[-\w]+\Z")
REQUIRED_PERMS = (
    "auth.add_user",
    "auth.change_user",
    "blog.edit_others_posts",
    "blog.moderate_comments",
    "blog.add_category",
    "blog.change_category",
    "blog.add_tag",
    "blog.change_tag",
)
COMMENT_STATUSES = {
    "1": Comment.Status.APPROVED,
    "approve": Comment.Status.APPROVED,
    "0": Comment.Status.PENDING,
    "hold": Comment.Status.PENDING,
    "spam": Comment.Status.SPAM,
    "trash": Comment.Status.TRASH,
    "post-trashed": Comment.Status.TRASH,
}
# Errors that make one record fail without stopping the run.
RECORD_ERRORS = (ValidationError, PermissionDenied, IntegrityError, DatabaseError, ValueError)


@dataclass
class Options:
    dry_run: bool = False
    role: str = roles.AUTHOR
    # Old login -> (username or email of a user here, or "" to create; role or "").
    authors: dict[str, tuple[str, str]] = field(default_factory=dict)
    media_dir: Path | None = None
    fetch_media: bool = False
    fetch_max_bytes: int = 20_000_000
    fetch_timeout: float = 10.0
    permalink_structure: str = ""
    batch_size: int = 100


@dataclass
class Report:
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[dict] = field(default_factory=list)
    # Objects changed both in WordPress and here since they were imported: ours are kept.
    conflicts: list[dict] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)
    refused: str = ""
    total: int = 0
    done: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts[kind][outcome] += n

    def fail(self, kind: str, wp_id, title: str, reason: str) -> None:
        self.add(kind, "failed")
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(
                {"kind": kind, "wp_id": wp_id, "title": str(title)[:200], "reason": reason}
            )

    def conflict(self, kind: str, wp_id, title: str) -> None:
        self.add(kind, "skipped")
        if len(self.conflicts) < MAX_FAILURES:
            self.conflicts.append({"kind": kind, "wp_id": wp_id, "title": str(title)[:200]})

    def note(self, text: str, n: int = 1) -> None:
        self.notes[text] += n

    @property
    def failed(self) -> int:
        return sum(c["failed"] for c in self.counts.values())

    def as_dict(self) -> dict:
        return {
            "counts": {k: {o: c[o] for o in OUTCOMES} for k, c in sorted(self.counts.items())},
            "failures": self.failures,
            "conflicts": self.conflicts,
            "notes": dict(self.notes.most_common()),
            "refused": self.refused,
            "total": self.total,
            "done": self.done,
            "seconds": round(self.seconds, 2),
            "interrupted": self.interrupted,
        }

    def lines(self) -> list[str]:
        """The report for a person, as the command prints it."""
        if self.refused:
            return [f"Refused: {self.refused}"]
        out = [f"{'':12}{'created':>9}{'updated':>9}{'skipped':>9}{'failed':>9}"]
        for kind, c in sorted(self.counts.items()):
            out.append(f"{kind:12}" + "".join(f"{c[o]:>9}" for o in OUTCOMES))
        for text, n in self.notes.most_common():
            out.append(f"note: {text}" + (f" (x{n})" if n > 1 else ""))
        for f in self.failures:
            out.append(f"FAILED {f['kind']} {f['wp_id']} {f['title']!r}: {f['reason']}")
        for c in self.conflicts:
            out.append(f"CONFLICT {c['kind']} {c['wp_id']} {c['title']!r}: {CONFLICT_REASON}")
        if self.interrupted:
            out.append("Interrupted: run the same command again to continue.")
        return out


@dataclass
class State:
    """What a run knows while it goes: the maps from WordPress ids to ours."""

    by: object
    site: OldSite
    info: wxr.Site
    options: Options
    report: Report
    progress: Callable[[Report, str], None]
    users: dict[str, object] = field(default_factory=dict)  # old login -> user
    users_by_id: dict[int, object] = field(default_factory=dict)  # old author id -> user
    categories: dict[str, int] = field(default_factory=dict)  # old slug -> pk
    tags: dict[str, int] = field(default_factory=dict)
    # Attachments: wp id -> media pk, upload path -> media pk, parent wp id -> [media pk]
    media: dict[int, int] = field(default_factory=dict)
    media_paths: dict[str, int] = field(default_factory=dict)
    media_children: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    media_urls: dict[int, str] = field(default_factory=dict)
    media_by_url: dict[str, int] = field(default_factory=dict)  # old_url_key -> media pk
    media_files: set[int] = field(default_factory=set)  # media pks that are not images
    posts: dict[tuple[str, int], int] = field(default_factory=dict)  # (kind, wp id) -> pk
    content_site: object = None  # content.Site, once the attachments are in


def describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "message_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    return str(exc) or type(exc).__name__


def clean_slug(raw: str, fallback: str) -> str:
    """WordPress stores non-ASCII slugs percent-encoded; ours are Unicode."""
    slug = unquote(raw).strip().lower()[:200]
    if slug and _SLUG.match(slug):
        return slug
    return slugify(slug or fallback, allow_unicode=True)[:200].strip("-")


def _record(state: State, kind: str, wp_id: int, **fields) -> None:
    """Remember what a WordPress object became (its callers looked for it first)."""
    ImportedItem.objects.create(site=state.site, kind=kind, wp_id=wp_id, **fields)


def step(state: State, kind: str, wp_id, title: str, work: Callable[[], None]) -> None:
    """Run one record's writes in a savepoint: a failure undoes that record alone."""
    try:
        with transaction.atomic():
            work()
    except RECORD_ERRORS as exc:
        logger.info("import: %s %s failed: %s", kind, wp_id, exc)
        state.report.fail(kind, wp_id, title, describe(exc))


# --- Authors ------------------------------------------------------------------------


def _find_user(ref: str):
    User = get_user_model()
    return User.objects.filter(username=ref).first() or (
        User.objects.filter(email__iexact=ref).order_by("pk").first() if "@" in ref else None
    )


def _new_username(login: str) -> str:
    User = get_user_model()
    base = login[:140]
    try:
        UnicodeUsernameValidator()(base)
    except ValidationError:
        base = slugify(base, allow_unicode=True)[:140] or "author"
    name, n = base, 2
    while User.objects.filter(username=name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def import_author(state: State, author: wxr.Author) -> None:
    report, options = state.report, state.options
    done = ImportedItem.objects.filter(site=state.site, kind=Kind.AUTHOR, wp_id=author.wp_id)
    known = done.select_related("user").first() if author.wp_id else None
    if known and known.user:
        state.users[author.login] = state.users_by_id[author.wp_id] = known.user
        report.add("author", "skipped")
        return
    target, role = options.authors.get(author.login, ("", ""))
    if target:
        user = _find_user(target)
        if user is None:
            raise ValidationError(f"the authors map names {target!r}, who is not a user here")
    else:
        user = _find_user(author.login) or (_find_user(author.email) if author.email else None)
    if user is not None:
        report.add("author", "skipped")
        report.note("authors matched to an existing user")
    else:
        email = author.email
        try:
            validate_email(email)
        except ValidationError:
            email = ""
        first, last = author.first_name[:150], author.last_name[:150]
        if not first and not last and author.display_name not in ("", author.login):
            first = author.display_name[:150]
        User = get_user_model()
        user = User(username=_new_username(author.login), email=email)
        user.first_name, user.last_name = first, last
        user.set_unusable_password()  # they set one with "forgot password"
        user.save()
        services.user_set_role(user=user, role=role or options.role, by=state.by)
        report.add("author", "created")
    state.users[author.login] = user
    if author.wp_id:
        state.users_by_id[author.wp_id] = user
        _record(state, Kind.AUTHOR, author.wp_id, user=user, old_slug=author.login[:200])


def author_for(state: State, login: str):
    """The user an item's dc:creator became; the importing user when it is unknown."""
    if login not in state.users:
        # Unknown logins too are looked up once: they post as the importing user.
        state.users[login] = (_find_user(login) if login else None) or state.by
    return state.users[login]


# --- Terms --------------------------------------------------------------------------


def import_term(state: State, term: wxr.Term) -> None:
    report = state.report
    if term.taxonomy not in ("category", "post_tag"):
        report.add(f"term:{term.taxonomy or '?'}", "skipped")
        report.note(f"{term.taxonomy or 'unnamed'} terms skipped (no such taxonomy here)")
        return
    is_category = term.taxonomy == "category"
    kind, model = (Kind.CATEGORY, Category) if is_category else (Kind.TAG, Tag)
    label = "category" if is_category else "tag"
    slug = clean_slug(term.slug, term.name) or f"{label}-{term.wp_id}"
    known = state.categories if is_category else state.tags
    existing = None
    if term.wp_id:
        item = ImportedItem.objects.filter(site=state.site, kind=kind, wp_id=term.wp_id).first()
        existing = item and (item.category_id if is_category else item.tag_id)
    if existing:
        known[unquote(term.slug)] = existing
        report.add(label, "skipped")
        return
    obj = model.objects.filter(slug=slug).first()
    if obj is not None:
        report.add(label, "skipped")
    else:
        obj = model(name=(term.name or slug)[:200], slug=slug, description=term.description)
        if is_category:
            services.category_save(category=obj, by=state.by)
        else:
            services.tag_save(tag=obj, by=state.by)
        report.add(label, "created")
    known[unquote(term.slug)] = obj.pk
    if term.wp_id:
        meta = {"parent_slug": unquote(term.parent_slug)} if term.parent_slug else {}
        _record(state, kind, term.wp_id, old_slug=unquote(term.slug)[:200], meta=meta,
                **{label: obj})  # fmt: skip


def terms_for(state: State, item: wxr.Item) -> tuple[list[int], list[int], str]:
    """An item's category and tag pks (creating those the file did not list first), and
    its post format."""
    categories, tags, post_format = [], [], ""
    for taxonomy, raw_slug, name in item.terms:
        if taxonomy == "post_format":
            post_format = raw_slug.removeprefix("post-format-")
            continue
        if taxonomy not in ("category", "post_tag"):
            continue
        known = state.categories if taxonomy == "category" else state.tags
        old = unquote(raw_slug or name)
        pk = known.get(old)
        if pk is None:
            model = Category if taxonomy == "category" else Tag
            slug = clean_slug(raw_slug, name)
            if not slug:
                continue
            obj = model.objects.filter(slug=slug).first()
            if obj is None:
                obj = model(name=(name or slug)[:200], slug=slug)
                save = services.category_save if model is Category else services.tag_save
                save(**{"category" if model is Category else "tag": obj, "by": state.by})
                state.report.add("category" if model is Category else "tag", "created")
            pk = known[old] = obj.pk
        (categories if taxonomy == "category" else tags).append(pk)
    return categories, tags, post_format


def link_category_parents(state: State) -> None:
    """Every imported category of this site gets the parent its file named, wherever in
    the file (or in an earlier run) that parent was."""
    items = ImportedItem.objects.filter(
        site=state.site, kind=Kind.CATEGORY, category__parent__isnull=True
    ).select_related("category")
    by_slug = dict(
        ImportedItem.objects.filter(site=state.site, kind=Kind.CATEGORY).values_list(
            "old_slug", "category_id"
        )
    )
    for item in items:
        parent_slug = item.meta.get("parent_slug")
        if not parent_slug or item.category is None:
            continue
        parent_pk = by_slug.get(parent_slug) or state.categories.get(parent_slug)
        if parent_pk is None:
            state.report.note("category parents not in the file: left at the top level")
            continue
        category = item.category

        def work(category=category, parent_pk=parent_pk):
            category.parent = Category.objects.get(pk=parent_pk)
            services.category_save(category=category, by=state.by)

        step(state, "category", item.wp_id, category.name, work)
        state.report.add("category", "updated")


def load_known(state: State) -> None:
    """Maps of what earlier runs of this site imported, so a rerun links to them."""
    rows = ImportedItem.objects.filter(site=state.site).values_list(
        "kind", "wp_id", "old_slug", "old_path", "category_id", "tag_id", "post_id", "media_id"
    )
    for kind, wp_id, slug, path, category, tag, post, media in rows:
        if kind == Kind.CATEGORY and category:
            state.categories.setdefault(slug, category)
        elif kind == Kind.TAG and tag:
            state.tags.setdefault(slug, tag)
        elif kind in (Kind.POST, Kind.PAGE) and post:
            state.posts[(kind, wp_id)] = post
        elif kind == Kind.ATTACHMENT and media:
            state.media[wp_id] = media
            if path:
                state.media_paths[path] = media


def batches(records: Iterable, size: int) -> Iterable[list]:
    batch: list = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def now() -> float:
    return time.monotonic()
