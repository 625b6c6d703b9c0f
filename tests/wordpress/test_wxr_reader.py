"""The WXR reader: safe (no DTD, no entities, no network), streaming, and strict about what
it accepts, with a message a person understands for everything it refuses."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from tests.conftest import corpus
from tests.wordpress.conftest import theme_unit_test, wxr
from wordpress import wxr as reader

ATTACKS = [
    "Classic_XXE.xml",
    "Classic_XXE_-_etc_passwd.xml",
    "Classic_XXE_B64_Encoded.xml",
    "Deny_Of_Service_-_Billion_Laugh_Attack.xml",
    "XXE_OOB_Attack_Yunusov_2013.xml",
    "XXE_PHP_Wrapper.xml",
]
REFUSED = {
    "malformed.xml": "not a WordPress export",
    "malformed-simple.xml": "not well-formed",
    "missing-version-tag.xml": "no <wp:wxr_version>",
    "invalid-version-tag.xml": "Unknown WXR version 'abc'",
    "10MB.xml": "empty",
    "crazy-cdata.xml": "not well-formed",
}


@pytest.mark.parametrize("name", ATTACKS)
def test_xxe_and_entity_bombs_are_refused_with_a_message(name):
    path = corpus("xml-attacks", name)
    with pytest.raises(reader.WXRError) as refused:
        reader.scan(str(path))
    assert "DTD" in str(refused.value) or "not XML" in str(refused.value)


def test_a_dtd_is_refused_before_any_entity_is_expanded():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel>&b;</channel></rss>'
    )
    with pytest.raises(reader.WXRError, match="DTD or entities"):
        reader.scan(io.BytesIO(bomb))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_broken_or_foreign_files_are_refused_with_the_reason(name):
    with pytest.raises(reader.WXRError, match=REFUSED[name].replace("(", r"\(")):
        reader.scan(str(wxr(name)))


@pytest.mark.parametrize(
    ("name", "version"),
    [("valid-wxr-1.0.xml", "1.0"), ("valid-wxr-1.1.xml", "1.1"), ("small-export.xml", "1.1")],
)
def test_every_wxr_version_is_read(name, version):
    records = list(reader.read(str(wxr(name))))
    assert records[0].version == version
    assert any(isinstance(r, reader.Item) for r in records)


def test_the_https_namespace_of_the_theme_unit_test_is_wordpress_too():
    counts = reader.scan(str(theme_unit_test()))
    assert counts["item:post"] == 51
    assert counts["item:page"] == 21
    assert counts["item:attachment"] == 38
    assert counts["term:category"] == 67
    assert counts["comment"] == 32


def test_a_wp_prefix_bound_to_another_namespace_is_not_wordpress():
    records = list(reader.read(str(wxr("namespace-edge-cases.xml"))))
    logins = {r.login for r in records if isinstance(r, reader.Author)}
    assert "fake_ns_user" not in logins
    assert "real_user" in logins
    hijacked = next(r for r in records if isinstance(r, reader.Item) and "Hijack" in r.title)
    assert hijacked.wp_id == 0 and not hijacked.meta


def test_cdata_sections_and_utf8_come_through_unchanged():
    item = next(
        r for r in reader.read(str(wxr("wxr-utf-8-challenges.xml"))) if isinstance(r, reader.Item)
    )
    rlo, pdf, lro, lre = "\u202e", "\u202c", "\u202d", "\u202a"
    assert item.title == f'"The Road {rlo}Not{pdf} Taken" by Rob{lro}ert {rlo}Frost {lre}🌲{pdf}'
    assert "\U0001d4e3\U0001d4ee\U0001d4fc\U0001d4fd" in item.content  # bold script "Test"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("multiple-cdata.xml", "\nline oneline twoline three\n"),
        ("cdata-edge.xml", "ends with sequence ]] >"),
        ("crazy-cdata-escaped.xml", "Content with nested <![CDATA[ tags ]]> :)"),
    ],
)
def test_cdata_sections_are_joined_as_text(name, content):
    item = next(r for r in reader.read(str(wxr(name))) if isinstance(r, reader.Item))
    assert item.content == content


def _big_export(items: int) -> bytes:
    body = "".join(
        f"<item><title>Post {n}</title><wp:post_id>{n}</wp:post_id>"
        f"<wp:post_type>post</wp:post_type><content:encoded><![CDATA[{'x' * 2000}]]>"
        "</content:encoded></item>"
        for n in range(1, items + 1)
    )
    return (
        '<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<wp:wxr_version>1.2</wp:wxr_version>{body}</channel></rss>"
    ).encode()


def test_memory_stays_flat_as_the_file_grows():
    data = _big_export(10_000)  # about 21 MB
    tracemalloc.start()
    try:
        counts = reader.scan(io.BytesIO(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts["item:post"] == 10_000
    assert peak < 3_000_000, f"peak {peak / 1e6:.1f} MB while reading {len(data) / 1e6:.0f} MB"
