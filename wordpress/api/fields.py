"""`_fields` (only the named fields, `a.b` for nested ones) and `_embed` (which links to embed)."""

from __future__ import annotations

EMBEDDABLE = ("author", "wp:featuredmedia", "wp:term", "replies", "up")


def _paths(spec) -> list[list[str]]:
    names = spec if isinstance(spec, list) else str(spec).split(",")
    return [name.strip().split(".") for name in names if name.strip()]


def _filter(item: dict, paths: list[list[str]]) -> dict:
    kept: dict = {}
    for path in paths:
        head = path[0]
        if head not in item:
            continue
        if len(path) == 1 or not isinstance(item[head], dict):
            kept[head] = item[head]
        elif not (head in kept and not isinstance(kept[head], dict)):
            nested = _filter(item[head], [path[1:]])
            kept[head] = {**kept.get(head, {}), **nested}
    return kept


def filter_fields(data, spec):
    """`data` (one item or a list of them) with only the fields `_fields` names."""
    paths = _paths(spec)
    if not paths:
        return data
    if isinstance(data, list):
        return [_filter(item, paths) if isinstance(item, dict) else item for item in data]
    if isinstance(data, dict):
        return _filter(data, paths)
    return data


def wanted_embeds(query) -> set[str]:
    """The rels `_embed` asks for: all of them for `_embed` or `_embed=1`, else the list."""
    if "_embed" not in query:
        return set()
    value = query.get("_embed")
    names = value if isinstance(value, list) else str(value or "").split(",")
    names = {n.strip() for n in names if n.strip()}
    if not names or names & {"1", "true"}:
        return set(EMBEDDABLE)
    return names & set(EMBEDDABLE)
