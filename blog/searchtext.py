"""Search text, plain Python: what a post offers the index, how a query reads, the snippets.

No ORM here, so the migration that fills the index and the bench can use it as it is.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe

MAX_QUERY_CHARS = 200
MAX_TERMS = 8  # so a query cannot ask the index for dozens of word lists
SNIPPET_WORDS = 30
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r'"([^"]*)"|[^\s"]+')
MAX_WORD_CHARS = 84  # InnoDB's innodb_ft_max_token_size: longer words are not indexed
MIN_WORD_CHARS = 3  # as InnoDB's innodb_ft_min_token_size: shorter words are not indexed
# InnoDB's default stopword list (information_schema.INNODB_FT_DEFAULT_STOPWORD): English
# function words in most posts, which say nothing about any one post. Left out of the
# postings (blog.SearchPosting) and out of queries, on every database.
_STOPWORD_TEXT = (
    "a about an are as at be by com de en for from how i in is it la of on or that the"
    " this to was what when where who will with und www"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
PREFIX_MIN_CHARS = 3  # a shorter prefix would expand to a large part of the vocabulary
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|pre|blockquote|tr|td|th|figcaption)>|<br\s*/?>", re.I)


@dataclass(frozen=True)
class Term:
    """One word, or the words of a quoted phrase; `prefix` also matches longer words."""

    words: tuple[str, ...]
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


def plain_text(body_html: str) -> str:
    """The words a reader sees in rendered HTML: tags dropped, entities decoded.

    Block ends become spaces first, so `<p>end</p><p>start` does not index `endstart`.
    """
    text = html.unescape(strip_tags(_BLOCK_END.sub(" ", body_html)))
    return " ".join(text.split())


def parse_query(query: str) -> list[Term]:
    """The terms of what a visitor typed: words, "quoted phrases" and prefixes (`kayak*`).

    Only word characters survive, so no operator of MariaDB's boolean mode or of FTS5's
    query language ever reaches the database from the visitor. A prefix is only what the
    visitor asked for with a trailing `*`: on InnoDB a short prefix of a common word
    expands to many words and costs seconds at 100,000 posts (bench/README.md, "Search").
    """
    query = query[:MAX_QUERY_CHARS]
    terms: list[Term] = []
    for match in _TOKEN.finditer(query):
        if match.group(1) is not None:
            words = tuple(_words(match.group(1)))
            if words:
                terms.append(Term(words[:MAX_TERMS]))
            continue
        token = match.group()
        words = _words(token)
        prefix = token.endswith("*") and bool(_WORD.search(token[-2:-1] or " "))
        terms.extend(Term((w,)) for w in words[:-1])
        if words:
            last = words[-1]
            terms.append(Term((last,), prefix=prefix and len(last) >= PREFIX_MIN_CHARS))
    seen: set[Term] = set()
    return [t for t in terms if not (t in seen or seen.add(t))][:MAX_TERMS]


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if len(w) <= MAX_WORD_CHARS]


def highlight(text: str, terms: list[Term], *, words: int | None = None) -> SafeString:
    """`text` escaped, with the terms' words in <mark>; cut to `words` around the first hit.

    Only our own <mark> tags are markup: every character of the post's text goes through
    escape(), so a title or body that holds HTML shows as text.
    """
    pattern = _term_pattern(terms)
    if words is not None:
        text = _window(text, pattern, words)
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [escape(text[last : match.start()]), "<mark>", escape(match.group()), "</mark>"]
        last = match.end()
    out.append(escape(text[last:]))
    # Safe: every piece of the text went through escape() above.
    return mark_safe("".join(out))


def has_match(text: str, terms: list[Term]) -> bool:
    pattern = _term_pattern(terms)
    return bool(pattern and pattern.search(text))


def _term_pattern(terms: list[Term]) -> re.Pattern | None:
    alternatives = []
    for term in terms:
        words = [re.escape(w) for w in term.words]
        tail = r"\w*" if term.prefix else ""
        alternatives.append(r"\W+".join(words) + tail)
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)  # a phrase before its own first word
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _window(text: str, pattern: re.Pattern | None, words: int) -> str:
    """About `words` words of `text` starting a little before the first match."""
    match = pattern.search(text) if pattern else None
    start = match.start() if match else 0
    all_words = text.split()
    # The index of the word the match starts in (it may start after a bracket or quote).
    at = len(text[:start].split())
    if at and start and not text[start - 1].isspace():
        at -= 1
    begin = max(0, at - words // 3)
    end = begin + words
    cut = " ".join(all_words[begin:end])
    return ("… " if begin else "") + cut + (" …" if end < len(all_words) else "")


def indexed_text(*, body_html: str, excerpt: str, password: str) -> str:
    """What the search may match of a post besides its title: nothing behind a password.

    A reader without the password sees only the title, so matching the text would let
    anyone confirm that text one word at a time.
    """
    if password:
        return ""
    return " ".join(part for part in (" ".join(excerpt.split()), plain_text(body_html)) if part)


# --- the postings: which posts hold a word, best first ---------------------------------

TITLE_WEIGHT = 10  # a word in the title counts as ten in the text (as bm25() is given on SQLite)
_K1, _B, _AVERAGE_WORDS = 1.2, 0.75, 300  # BM25's usual k1 and b; a typical post's length
IN_TITLE = 1 << 16  # the impact's high bit: every title hit above every text-only hit
_SCORE_SCALE = 20_000  # BM25's term factor is below k1 + 1 = 2.2, so the score fits under IN_TITLE


def fold(word: str) -> str:
    """A word as the postings hold it: lower case, accents dropped (café and cafe are one)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def indexable(word: str) -> bool:
    """Whether a (folded) word has postings: not a stopword, not shorter than three letters."""
    return MIN_WORD_CHARS <= len(word) <= MAX_WORD_CHARS and word not in STOPWORDS


def impacts(title: str, text: str) -> dict[str, int]:
    """Each indexed word of a post and its impact: how well the post answers that word.

    BM25's per-word factor, tf·(k1+1) / (tf + k1·(1 - b + b·length/average)), with a title
    occurrence counted as TITLE_WEIGHT text ones, scaled to an integer, plus IN_TITLE when
    the word is in the title. It is fixed when the post is indexed (the average length is a
    constant, and the word's rarity, BM25's idf, is the same for every post of the word, so
    it does not change their order), which is what lets the top posts of a word be read in
    order from an index.
    """
    in_title = Counter(w for w in map(fold, _WORD.findall(title)) if indexable(w))
    words = [w for w in map(fold, _WORD.findall(text)) if indexable(w)]
    in_text = Counter(words)
    length = len(words) + sum(in_title.values())
    norm = _K1 * (1 - _B + _B * length / _AVERAGE_WORDS)
    found = {}
    for word in in_title.keys() | in_text.keys():
        tf = TITLE_WEIGHT * in_title[word] + in_text[word]
        score = round(tf * (_K1 + 1) / (tf + norm) * _SCORE_SCALE)
        found[word] = min(score, IN_TITLE - 1) + (IN_TITLE if word in in_title else 0)
    return found
