"""WordPress's `wpautop`, ported: classic content is stored with bare newlines and WordPress
makes paragraphs and line breaks when it shows it, so an import must do the same.

A line-for-line port of wp-includes/formatting.php (WordPress 6.x), regular expression for
regular expression, so that a post reads the same here as it did there.
"""

from __future__ import annotations

import re

_ALLBLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre"
    r"|form|map|area|blockquote|address|style|p|h[1-6]|hr|fieldset|legend|section|article"
    r"|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)
# wp_html_split: comments, CDATA and tags, so newlines inside them can be protected.
_HTML_PARTS = re.compile(r"(<!--.*?-->|<!\[CDATA\[.*?\]\]>|<[^>]*>?)", re.S)
_NL_MARK = " <!-- wpnl --> "


def _sub(pattern: str, repl, text: str, flags: int = 0) -> str:
    # PHP's PCRE without /u: \s is ASCII whitespace only, so a no-break space survives.
    return re.sub(pattern, repl, text, flags=flags | re.A)


def _replace_in_html_tags(text: str) -> str:
    parts = _HTML_PARTS.split(text)
    for i in range(1, len(parts), 2):
        if "\n" in parts[i]:
            parts[i] = parts[i].replace("\n", _NL_MARK)
    return "".join(parts)


def _protect_pre(text: str) -> tuple[str, dict[str, str]]:
    pre_tags: dict[str, str] = {}
    if "<pre" not in text:
        return text, pre_tags
    parts = text.split("</pre>")
    last = parts.pop()
    out = []
    for i, part in enumerate(parts):
        start = part.find("<pre")
        if start == -1:
            out.append(part)
            continue
        name = f"<pre wp-pre-tag-{i}></pre>"
        pre_tags[name] = part[start:] + "</pre>"
        out.append(part[:start] + name)
    out.append(last)
    return "".join(out), pre_tags


def wpautop(text: str, br: bool = True) -> str:
    if not text.strip():
        return ""
    text, pre_tags = _protect_pre(text + "\n")
    text = _sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text)
    text = _sub(rf"(<{_ALLBLOCKS}[\s/>])", r"\n\n\1", text)
    text = _sub(rf"(</{_ALLBLOCKS}>)", r"\1\n\n", text)
    text = _sub(r"(<hr\s*?/?>)", r"\1\n\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _replace_in_html_tags(text)
    if "<option" in text:
        text = _sub(r"\s*<option", "<option", text)
        text = _sub(r"</option>\s*", "</option>", text)
    if "</object>" in text:
        text = _sub(r"(<object[^>]*>)\s*", r"\1", text)
        text = _sub(r"\s*</object>", "</object>", text)
        text = _sub(r"\s*(</?(?:param|embed)[^>]*>)\s*", r"\1", text)
    if "<source" in text or "<track" in text:
        text = _sub(r"([<\[](?:audio|video)[^>\]]*[>\]])\s*", r"\1", text)
        text = _sub(r"\s*([<\[]/(?:audio|video)[>\]])", r"\1", text)
        text = _sub(r"\s*(<(?:source|track)[^>]*>)\s*", r"\1", text)
    if "<figcaption" in text:
        text = _sub(r"\s*(<figcaption[^>]*>)", r"\1", text)
        text = _sub(r"</figcaption>\s*", "</figcaption>", text)
    text = _sub(r"\n\n+", "\n\n", text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text, flags=re.A) if p]
    text = "".join(f"<p>{p.strip(chr(10))}</p>\n" for p in paragraphs)
    text = _sub(r"<p>\s*</p>", "", text)
    text = _sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", text)
    text = _sub(rf"<p>\s*(</?{_ALLBLOCKS}[^>]*>)\s*</p>", r"\1", text)
    text = _sub(r"<p>(<li.+?)</p>", r"\1", text)
    text = _sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", text, flags=re.I)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = _sub(rf"<p>\s*(</?{_ALLBLOCKS}[^>]*>)", r"\1", text)
    text = _sub(rf"(</?{_ALLBLOCKS}[^>]*>)\s*</p>", r"\1", text)
    if br:
        text = _sub(
            r"<(script|style|svg|math).*?</\1>",
            lambda m: m.group(0).replace("\n", "<WPPreserveNewline />"),
            text,
            flags=re.S,
        )
        text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
        text = _sub(r"(?<!<br />)\s*\n", "<br />\n", text)
        text = text.replace("<WPPreserveNewline />", "\n")
    text = _sub(rf"(</?{_ALLBLOCKS}[^>]*>)\s*<br />", r"\1", text)
    text = _sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text)
    text = _sub(r"\n</p>$", "</p>", text)
    for name, original in pre_tags.items():
        text = text.replace(name, original)
    if "<!-- wpnl -->" in text:
        text = text.replace(_NL_MARK, "\n").replace("<!-- wpnl -->", "\n")
    return text
