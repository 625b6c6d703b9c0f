"""Automatic excerpts: the first words of a post's rendered HTML, as plain text.

`strip_tags` glues a heading to the paragraph under it ("HeadingParagraph") whenever
the HTML has no whitespace between blocks, as pasted or imported HTML often has not;
and a code block read as prose is noise in a summary. So the text is read tag by tag:
every block boundary becomes a space, code blocks, tables' layout and media are
left out, and entities are decoded once (the template escapes the text again).
"""

from __future__ import annotations

from html.parser import HTMLParser

# Elements whose start and end separate words (HTML's block-level and line-breaking ones).
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
    "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
# Elements whose text is not prose: a program listing, players' fallback text.
_SKIPPED = {"pre", "script", "style", "audio", "video", "iframe", "object", "template"}
_CHUNK = 4096  # read this much HTML at a time, and stop once there are enough words


class _Words(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.words = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)
            self.words += len(data.split())


def html_excerpt(html: str, *, words: int, more: str = " …") -> str:
    """The first `words` words of `html`'s prose, `more` appended when it went on."""
    reader = _Words()
    for start in range(0, len(html), _CHUNK):
        reader.feed(html[start : start + _CHUNK])
        if reader.words > words:
            break
    reader.close()
    found = "".join(reader.parts).split()
    if len(found) > words:
        return " ".join(found[:words]) + more
    return " ".join(found)
