"""Site search: the entries the full-text index holds, and the queries over them.

A post has a search entry only while it is published or scheduled, and a password-
protected post's entry holds its title alone (blog.searchtext.indexed_text): what a
search may find is decided when the entry is written, not by each query. The post
services call search_entries_refresh() in their own transaction, so an entry never
disagrees with a committed post.

MariaDB/MySQL answer with InnoDB FULLTEXT in boolean mode, SQLite with FTS5 and bm25
(migration 0011 makes either). Every door that searches (the site, /wp/v2/search,
?search= on posts and pages) goes through this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.safestring import SafeString

from blog.models import Post, SearchEntry
from blog.searchtext import SNIPPET_WORDS, Term, has_match, highlight, indexed_text, parse_query

INDEXED_STATUSES = (Post.Status.PUBLISHED, Post.Status.FUTURE)
# InnoDB's default stopword list (information_schema.INNODB_FT_DEFAULT_STOPWORD): in boolean
# mode a required stopword or a word under innodb_ft_min_token_size (3) matches no row at
# all, so such words are left out of a MariaDB query rather than emptying its result.
_STOPWORDS = "a about an are as at be by com de en for from how i in is it la of on or that the"
INNODB_STOPWORDS = frozenset(
    f"{_STOPWORDS} this to was what when where who will with und www".split()
)
INNODB_MIN_TOKEN = 3
_TABLE = "blog_searchentry"
_FTS = "blog_searchentry_fts"


# --- the entries -----------------------------------------------------------------------


def _entry(post: Post) -> SearchEntry:
    return SearchEntry(
        post_id=post.pk,
        kind=post.kind,
        published_at=post.published_at,
        title=post.title,
        text=indexed_text(body_html=post.body_html, excerpt=post.excerpt, password=post.password),
    )


def search_entries_refresh(*, post_ids: Iterable[int]) -> int:
    """Make these posts' entries say what the posts now are; returns how many entries exist.

    Called by every service that changes a post's status, dates, title, text or password,
    inside its transaction. Posts that are not published or scheduled lose their entry.
    """
    ids = set(post_ids)
    if not ids:
        return 0
    posts = Post.objects.filter(
        pk__in=ids, status__in=INDEXED_STATUSES, published_at__isnull=False
    ).only("id", "kind", "published_at", "title", "body_html", "excerpt", "password")
    entries = [_entry(post) for post in posts]
    SearchEntry.objects.filter(post_id__in=ids).delete()
    SearchEntry.objects.bulk_create(entries)
    return len(entries)


def search_entries_rebuild(*, batch: int = 1000) -> int:
    """Every entry again, from the posts (the `search_rebuild` command); returns the count."""
    SearchEntry.objects.exclude(
        post__status__in=INDEXED_STATUSES, post__published_at__isnull=False
    ).delete()
    written, last = 0, 0
    while True:
        ids = list(
            Post.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return written
        written += search_entries_refresh(post_ids=ids)
        last = ids[-1]


# --- the query languages ---------------------------------------------------------------


def _boolean_mode(terms: list[Term]) -> str:
    """MariaDB's boolean-mode string: every term required, the last one also as a prefix.

    Built from word characters only (blog.searchtext.parse_query), so a visitor's `+-<>()~*"@`
    can never make a syntax error or an operator.
    """
    parts = []
    for term in terms:
        if term.is_phrase:
            if any(_innodb_indexes(w) for w in term.words):
                parts.append('+"' + " ".join(term.words) + '"')
            continue
        word = term.words[0]
        if term.prefix and word not in INNODB_STOPWORDS:
            # The word itself as well as the prefix, so an exact hit ranks higher.
            parts.append(f"+({word} {word}*)" if _innodb_indexes(word) else f"+{word}*")
        elif _innodb_indexes(word):
            parts.append(f"+{word}")
    return " ".join(parts)


def _innodb_indexes(word: str) -> bool:
    return len(word) >= INNODB_MIN_TOKEN and word not in INNODB_STOPWORDS


def _fts5(terms: list[Term]) -> str:
    """FTS5's query string: each word quoted (no FTS5 syntax can get in), all required."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words) + '"'
        parts.append(f"({quoted} OR {quoted}*)" if term.prefix else quoted)
    return " AND ".join(parts)


# --- the results -----------------------------------------------------------------------


@dataclass
class SearchHit:
    post_id: int
    title: str
    text: str
    terms: list[Term]

    @property
    def title_html(self) -> SafeString:
        return highlight(self.title, self.terms)

    @property
    def snippet_html(self) -> SafeString | str:
        """About thirty words of the text around the first match; "" when only the title matched."""
        if not has_match(self.text, self.terms):
            return ""
        return highlight(self.text, self.terms, words=SNIPPET_WORDS)


class SearchResults:
    """The posts a query finds, best first: title matches, then relevance, then newest.

    Shaped for django.core.paginator.Paginator: count() is one query, a slice is one
    query (of entries, text included, so snippets cost nothing more).
    """

    def __init__(self, query: str, *, kinds=(Post.Kind.POST,), include=None, exclude=None):
        self.terms = parse_query(query)
        self.kinds = list(kinds)
        self.include, self.exclude = include, exclude
        self.now = timezone.now()
        self.vendor = connection.vendor
        self.match = _boolean_mode(self.terms) if self.vendor == "mysql" else _fts5(self.terms)

    @property
    def searchable(self) -> bool:
        """False when nothing in the query can be looked up (empty, punctuation, "the")."""
        return bool(self.match)

    def _where(self) -> tuple[str, list]:
        kinds = ", ".join(["%s"] * len(self.kinds))
        sql = f"e.kind IN ({kinds}) AND e.published_at <= %s"
        params = [*self.kinds, connection.ops.adapt_datetimefield_value(self.now)]
        for ids, op in ((self.include, "IN"), (self.exclude, "NOT IN")):
            if ids:
                sql += f" AND e.post_id {op} ({', '.join(['%s'] * len(ids))})"
                params += list(ids)
        return sql, params

    def _from(self) -> tuple[str, list]:
        where, params = self._where()
        if self.vendor == "mysql":
            match = "MATCH(e.title, e.text) AGAINST (%s IN BOOLEAN MODE)"
            return f"FROM {_TABLE} e WHERE {match} AND {where}", [self.match, *params]
        return (
            f"FROM {_FTS} JOIN {_TABLE} e ON e.post_id = {_FTS}.rowid "
            f"WHERE {_FTS} MATCH %s AND {where}",
            [self.match, *params],
        )

    def count(self) -> int:
        if not self.searchable:
            return 0
        sql, params = self._from()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) {sql}", params)
            return cursor.fetchone()[0]

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[SearchHit]:
        if not isinstance(window, slice) or window.step not in (None, 1):
            raise TypeError("SearchResults take a slice")
        start, stop = window.start or 0, window.stop
        if not self.searchable or (stop is not None and stop <= start):
            return []
        sql, params = self._from()
        if self.vendor == "mysql":
            # Title hits first: MATCH on the title alone (its own FULLTEXT index) > 0.
            rank = (
                "MATCH(e.title) AGAINST (%s IN BOOLEAN MODE) > 0 AS in_title, "
                "MATCH(e.title, e.text) AGAINST (%s IN BOOLEAN MODE) AS score"
            )
            rank_params = [self.match, self.match]
        else:
            # Table names are constants; every value below is a parameter.
            rank = (
                f"e.post_id IN (SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH %s) AS in_title, "  # noqa: S608
                f"-bm25({_FTS}, 10.0, 1.0) AS score"
            )
            rank_params = [f"title : ({self.match})"]
        limit = -1 if stop is None and self.vendor == "sqlite" else (stop or 2**62) - start
        order = "in_title DESC, score DESC, published_at DESC, post_id DESC"
        # The page's IDs are ranked first and the text is read for those rows only: sorting
        # the text of every match along with it cost MariaDB seconds for a common word.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT e.post_id, e.title, e.text FROM {_TABLE} e JOIN ("  # noqa: S608 - constants and %s only
                f"SELECT e.post_id AS post_id, {rank}, e.published_at AS published_at {sql} "
                f"ORDER BY {order} LIMIT %s OFFSET %s) r ON r.post_id = e.post_id "
                f"ORDER BY r.{order.replace(', ', ', r.')}",
                [*rank_params, *params, limit, start],
            )
            rows = cursor.fetchall()
        return [SearchHit(pk, title, text, self.terms) for pk, title, text in rows]


def post_search(*, query: str, kinds=(Post.Kind.POST,), include=None, exclude=None):
    """What the public search finds for `query`, best first (see SearchResults)."""
    return SearchResults(query, kinds=kinds, include=include, exclude=exclude)


def search_filter(query: str, *, unpublished: bool = False) -> Q:
    """A condition on posts for `?search=` in the REST API's posts and pages collections.

    Published posts match through the full-text index, with the site search's rules. An
    editor who lists drafts, pending, private or scheduled posts (`unpublished`) finds them
    by every word in the title, or in the text of one without a password: they have no
    entry, and there are few of them, so a LIKE over that status's rows costs little.
    """
    results = SearchResults(query, kinds=Post.Kind.values)
    if not results.searchable:
        indexed = Q(pk__in=[])
    else:
        sql, params = results._from()
        indexed = Q(pk__in=RawSQL(f"SELECT e.post_id {sql}", params))  # noqa: S611 - parameters
    if not unpublished:
        return indexed
    public = Q(status__in=INDEXED_STATUSES, published_at__lte=results.now)
    return indexed | (~public & _like_filter(query))


def _like_filter(query: str) -> Q:
    condition = Q()
    for term in parse_query(query):
        word = " ".join(term.words)
        in_text = Q(body__icontains=word) | Q(excerpt__icontains=word)
        condition &= Q(title__icontains=word) | (Q(password="") & in_text)
    return condition or Q(pk__in=[])
