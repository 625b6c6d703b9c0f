"""Site search: the entries, their word postings, and the queries over them.

A post has a search entry only while it is published or scheduled, and a password-
protected post's entry holds its title alone (blog.searchtext.indexed_text): what a
search may find is decided when the entry is written, not by each query. The post
services call search_entries_refresh() in their own transaction, so an entry never
disagrees with a committed post.

Queries are answered from blog.SearchPosting, an inverted index of our own ordered by
impact per word (migration 0014), the same on MariaDB, Aurora MySQL and SQLite: InnoDB
FULLTEXT reads and scores every post that holds a word before it can sort, which took
seconds for a word in half of 100,000 posts (bench/README.md, "Search"). Every door that
searches (the site, /wp/v2/search, ?search= on posts and pages) goes through this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.safestring import SafeString

from blog.models import Post, SearchEntry, SearchPosting, SearchTerm
from blog.searchtext import (
    SNIPPET_WORDS,
    Term,
    fold,
    has_match,
    highlight,
    impacts,
    indexable,
    indexed_text,
    parse_query,
)

INDEXED_STATUSES = (Post.Status.PUBLISHED, Post.Status.FUTURE)
# A word in at most this many entries gets an exact count of its matches (an index range of
# that many rows); a commoner one "about N", from the counts kept per word, as a web search
# engine does: counting 50,000 matches exactly would read 50,000 rows for every page.
EXACT_COUNT_UP_TO = 2_000
# A prefix (`kayak*`) stands for this many of the indexed words it begins, the commonest.
PREFIX_WORDS = 30
# A phrase is looked for among this many of its rarest word's best posts (a bound on work).
PHRASE_CANDIDATES = 3_000
_ENTRIES = "blog_searchentry"
_POSTINGS = "blog_searchposting"
_ORDER = "impact DESC, published_at DESC, post_id DESC"  # the postings' primary key, backwards


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
    """Make these posts' entries and postings say what the posts now are; returns how many
    entries exist.

    Called by every service that changes a post's status, dates, title, text or password,
    inside its transaction. Posts that are not published or scheduled lose their entry.
    """
    return _refresh(set(post_ids), count_terms=True)


def _refresh(ids: set[int], *, count_terms: bool) -> int:
    if not ids:
        return 0
    posts = Post.objects.filter(
        pk__in=ids, status__in=INDEXED_STATUSES, published_at__isnull=False
    ).only("id", "kind", "published_at", "title", "body_html", "excerpt", "password")
    entries = [_entry(post) for post in posts]
    counts = Counter()
    old = SearchPosting.objects.filter(post_id__in=ids)
    if count_terms:
        counts.subtract(old.values_list("term", flat=True))
        counts.subtract([""] * SearchEntry.objects.filter(post_id__in=ids).count())
    old.delete()
    SearchEntry.objects.filter(post_id__in=ids).delete()
    SearchEntry.objects.bulk_create(entries)
    # Rows, not model instances: a rebuild writes about a hundred per post, and building
    # Django objects for them cost more CPU than the inserts. In primary-key order, so each
    # insert lands next to the last one in the index.
    adapt = connection.ops.adapt_datetimefield_value
    postings = sorted(
        (term, impact, adapt(entry.published_at), entry.post_id, entry.kind)
        for entry in entries
        for term, impact in impacts(entry.title, entry.text).items()
    )
    with connection.cursor() as cursor:
        for at in range(0, len(postings), 5000):
            cursor.executemany(
                f"INSERT INTO {_POSTINGS} (term, impact, published_at, post_id, kind)"  # noqa: S608
                " VALUES (%s, %s, %s, %s, %s)",
                postings[at : at + 5000],
            )
    if count_terms:
        counts.update(row[0] for row in postings)
        counts.update([""] * len(entries))
        _count_terms(counts)
    return len(entries)


def _count_terms(changes: Counter) -> None:
    """Add each term's change to its count of entries, one UPDATE per distinct change."""
    changes = {term: n for term, n in changes.items() if n}
    if not changes:
        return
    SearchTerm.objects.bulk_create(
        [SearchTerm(term=term) for term in changes], ignore_conflicts=True, batch_size=5000
    )
    by_change: dict[int, list[str]] = {}
    for term, n in changes.items():
        by_change.setdefault(n, []).append(term)
    for n, terms in sorted(by_change.items()):
        for at in range(0, len(terms), 5000):
            SearchTerm.objects.filter(term__in=terms[at : at + 5000]).update(
                entries=F("entries") + n
            )


def search_entries_rebuild(*, batch: int = 1000, progress=None) -> int:
    """Every entry, posting and term count again, from the posts (the `search_rebuild`
    command, the migration that made the postings, the bulk demo); returns the entries."""
    say = progress or (lambda message: None)
    stale = SearchEntry.objects.exclude(
        post__status__in=INDEXED_STATUSES, post__published_at__isnull=False
    ).values_list("post_id", flat=True)
    _refresh(set(stale), count_terms=False)
    written, last, done, total = 0, 0, 0, Post.objects.count()
    while True:
        ids = list(
            Post.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        with transaction.atomic():
            written += _refresh(set(ids), count_terms=False)
        last, done = ids[-1], done + len(ids)
        say(f"indexed {done:,}/{total:,} posts")
    say("counting the posts of each word")
    _recount_terms()
    return written


def _recount_terms() -> None:
    """Every word's count of entries from the postings, and the entries' own (term "")."""
    with transaction.atomic():
        SearchTerm.objects.all().delete()
        # Table names are constants: one INSERT ... SELECT instead of a row per word.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SearchTerm._meta.db_table} (term, entries) "  # noqa: S608
                f"SELECT term, COUNT(*) FROM {_POSTINGS} GROUP BY term"
            )
        SearchTerm.objects.create(term="", entries=SearchEntry.objects.count())


# --- the plan of a query ------------------------------------------------------------


@dataclass
class _Group:
    """Indexed words one of which a matching post must hold (one word; a prefix's words)."""

    words: list[str]
    entries: int = 0  # how many entries hold any of them (an upper bound for a prefix)


def _plan(terms: list[Term]) -> tuple[list[_Group], list[Term], list[str]]:
    """(word groups, phrases to verify, prefixes to expand) of a parsed query.

    A stopword or a word under three letters is left out, as InnoDB does: "the kayak"
    finds what "kayak" finds. A phrase requires each of its indexed words, and then the
    words in that order (_phrase_pattern).
    """
    groups: dict[str, _Group] = {}
    phrases, prefixes = [], []
    for term in terms:
        words = [fold(w) for w in term.words]
        if term.prefix:
            prefixes.append(words[0])
            continue
        indexed = [w for w in words if indexable(w)]
        for word in indexed:
            groups.setdefault(word, _Group([word]))
        if term.is_phrase and indexed:
            phrases.append(term)
    return list(groups.values()), phrases, prefixes


def _phrase_pattern(term: Term) -> str:
    """A regular expression for a phrase's words in order, whatever lies between them.

    Both MariaDB's REGEXP (PCRE) and Django's SQLite REGEXP (Python's re) read it; the
    words are word characters only (parse_query), so nothing in them is an operator.
    """
    return r"(?i)(^|\W)" + r"\W+".join(term.words) + r"(\W|$)"


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

    Read from the postings (blog.SearchPosting, README "Search"): the rarest word of the
    query is walked in order of impact and every other word is checked by an index lookup,
    so a page costs about a page of rows however many posts hold the words. The order is
    the walked word's impact (its title hits first); for two or more words that is an
    approximation of relevance, as is "newest" (the higher post ID first among equal
    impacts). count() is exact when the walked word is in at most EXACT_COUNT_UP_TO entries,
    else an estimate (`approximate` is then True). Shaped for django.core.paginator.
    """

    def __init__(self, query: str, *, kinds=(Post.Kind.POST,), include=None, exclude=None):
        self.terms = parse_query(query)
        self.kinds = list(kinds)
        self.include, self.exclude = include, exclude
        self.now = timezone.now()
        self.groups, self.phrases, self.prefixes = _plan(self.terms)
        self.approximate = False
        self._planned = False
        self._count: int | None = None

    @property
    def searchable(self) -> bool:
        """False when nothing in the query can be looked up (empty, punctuation, "the")."""
        return bool(self.groups or self.prefixes)

    def _lookup(self) -> bool:
        """Each group's count of entries, the prefixes' words; False if nothing can match."""
        if not self._planned:
            self._planned = True
            for prefix in self.prefixes:
                # istartswith: LIKE without BINARY on MariaDB, so a range of the primary key.
                found = SearchTerm.objects.filter(term__istartswith=prefix, entries__gt=0)
                found = found.exclude(term="").order_by("-entries", "term")[:PREFIX_WORDS]
                words = dict(found.values_list("term", "entries"))
                self.groups.append(_Group(list(words), sum(words.values())))
            words = [w for g in self.groups if len(g.words) == 1 for w in g.words]
            counts = dict(
                SearchTerm.objects.filter(term__in=[*words, ""]).values_list("term", "entries")
            )
            for group in self.groups:
                if len(group.words) == 1:
                    group.entries = counts.get(group.words[0], 0)
            self.total = counts.get("", 0)
            self.groups.sort(key=lambda g: g.entries)
        return self.searchable and all(g.entries for g in self.groups)

    def _where(self, walked: str) -> tuple[str, list]:
        """Conditions on the posting `p` of a walked word (and the entry `e` for phrases):
        the reader's rules (kind, already published, include/exclude), the other words."""
        kinds = ", ".join(["%s"] * len(self.kinds))
        sql = f"p.kind IN ({kinds}) AND p.published_at <= %s"
        params = [*self.kinds, connection.ops.adapt_datetimefield_value(self.now)]
        for ids, op in ((self.include, "IN"), (self.exclude, "NOT IN")):
            if ids:
                sql += f" AND p.post_id {op} ({', '.join(['%s'] * len(ids))})"
                params += list(ids)
        for group in self.groups[1:]:
            # A scalar subquery, not EXISTS: MariaDB turns EXISTS into a semi-join that
            # reads the other word's whole posting list first; this is one (post, term)
            # index lookup per walked row, and the walk stops when the page is full.
            sql += (
                f" AND (SELECT 1 FROM {_POSTINGS} q WHERE q.post_id = {walked}"  # noqa: S608
                f" AND q.term IN ({', '.join(['%s'] * len(group.words))}) LIMIT 1) IS NOT NULL"
            )
            params += group.words
        for phrase in self.phrases:
            sql += " AND (e.title REGEXP %s OR e.text REGEXP %s)"
            params += [_phrase_pattern(phrase)] * 2
        return sql, params

    def _walk(self, word: str, limit: int | None) -> tuple[str, list]:
        """SQL for the matching posts of one word of the walked group, best first: a range
        of the postings' primary key, read until `limit` rows pass the conditions."""
        where, params = self._where("p.post_id")
        columns = "p.post_id AS post_id, p.impact AS impact, p.published_at AS published_at"
        if self.phrases:
            # Only the word's best PHRASE_CANDIDATES posts are tried against a phrase, in
            # its entry's text: a bound on the work for a phrase of common words.
            straight = "STRAIGHT_JOIN " if connection.vendor == "mysql" else ""
            sql = (
                f"SELECT {straight}{columns} FROM (SELECT * FROM {_POSTINGS} WHERE term = %s"  # noqa: S608
                f" ORDER BY {_ORDER} LIMIT {PHRASE_CANDIDATES}) p"
                f" JOIN {_ENTRIES} e ON e.post_id = p.post_id WHERE {where}"
            )
        else:
            sql = f"SELECT {columns} FROM {_POSTINGS} p WHERE p.term = %s AND {where}"  # noqa: S608
        sql += f" ORDER BY {_ORDER.replace('impact', 'p.impact')}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql, [word, *params]

    def _matches(self, limit: int | None) -> tuple[str, list]:
        """SQL for (post_id, impact, published_at) of the matching posts, best first, at
        most `limit`.

        A group of several words (a prefix) merges each word's own best `limit` posts,
        keeping a post's best impact: the best `limit` of the merge are among them.
        """
        walked = self.groups[0].words
        if len(walked) == 1:
            return self._walk(walked[0], limit)
        parts = [self._walk(word, limit) for word in walked]
        union = " UNION ALL ".join(
            f"SELECT * FROM ({sql}) w{n}"  # noqa: S608 - our own SQL, values are %s
            for n, (sql, _) in enumerate(parts)
        )
        sql = (
            "SELECT post_id, MAX(impact) AS impact, published_at"  # noqa: S608
            f" FROM ({union}) m GROUP BY post_id, published_at ORDER BY {_ORDER}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql, [param for _, part in parts for param in part]

    def count(self) -> int:
        if self._count is None:
            self._count = self._counted() if self._lookup() else 0
        return self._count

    def _counted(self) -> int:
        walked = self.groups[0]
        if walked.entries <= EXACT_COUNT_UP_TO:
            sql, params = self._matches(None)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM ({sql}) c", params)  # noqa: S608
                return cursor.fetchone()[0]
        # About: the walked word's entries times the share of entries holding each other
        # word (as if the words were independent), and for a phrase the share of its
        # candidates that hold it.
        self.approximate = True
        estimate = float(walked.entries)
        for group in self.groups[1:]:
            estimate *= min(1.0, group.entries / max(self.total, 1))
        if self.phrases:
            sql, params = self._matches(None)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM ({sql}) c", params)  # noqa: S608
                found = cursor.fetchone()[0]
            estimate *= found / min(walked.entries, PHRASE_CANDIDATES)
        return max(int(round(estimate, -1 if estimate >= 100 else 0)), 1) if estimate else 0

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[SearchHit]:
        if not isinstance(window, slice) or window.step not in (None, 1):
            raise TypeError("SearchResults take a slice")
        start, stop = window.start or 0, window.stop
        if (stop is not None and stop <= start) or not self._lookup():
            return []
        sql, params = self._matches(stop)
        # The page's entries in the same query, their text included for the snippets.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT m.post_id, e.title, e.text FROM ({sql}) m"  # noqa: S608
                f" JOIN {_ENTRIES} e ON e.post_id = m.post_id"
                " ORDER BY m.impact DESC, m.published_at DESC, m.post_id DESC",
                params,
            )
            rows = cursor.fetchall()[start:]
        return [SearchHit(pk, title, text, self.terms) for pk, title, text in rows]


def post_search(*, query: str, kinds=(Post.Kind.POST,), include=None, exclude=None):
    """What the public search finds for `query`, best first (see SearchResults)."""
    return SearchResults(query, kinds=kinds, include=include, exclude=exclude)


def search_filter(query: str, *, unpublished: bool = False) -> Q:
    """A condition on posts for `?search=` in the REST API's posts and pages collections.

    Published posts match through the postings, with the site search's rules. An editor
    who lists drafts, pending, private or scheduled posts (`unpublished`) finds them by
    every word in the title, or in the text of one without a password: they have no
    entry, and there are few of them, so a LIKE over that status's rows costs little.
    """
    results = SearchResults(query, kinds=Post.Kind.values)
    if not results._lookup():
        indexed = Q(pk__in=[])
    else:
        sql, params = results._matches(None)
        indexed = Q(pk__in=RawSQL(f"SELECT post_id FROM ({sql}) f", params))  # noqa: S611, S608
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
