"""Automatic excerpts (a post without its own): the first 55 words of the post as readers
see it, block by block, on the home page and in the post page's description."""

from __future__ import annotations

import pytest

from tests.factories import make_post

pytestmark = pytest.mark.django_db

BODY = """\
## Getting there

We took the *early* ferry.

- Tickets
- Snacks

```python
print("not prose")
```

Then we walked &amp; talked.
"""


def summary_on_home(client) -> str:
    html = client.get("/").content.decode()
    start = html.index('<article class="post-summary')
    return html[start : html.index("</article>", start)]


def test_an_excerpt_keeps_headings_lists_and_paragraphs_apart_and_leaves_out_code(client, author):
    post = make_post(author, title="Ferry day", body=BODY)

    assert (
        post.get_excerpt()
        == "Getting there We took the early ferry. Tickets Snacks Then we walked & talked."
    )
    summary = summary_on_home(client)
    assert (
        "Getting there We took the early ferry. Tickets Snacks Then we walked &amp; talked."
        in summary
    )
    assert "not prose" not in summary
    description = client.get(post.get_absolute_url()).content.decode()
    assert '<meta name="description" content="Getting there We took the early ferry.' in description


def test_html_with_no_space_between_blocks_is_not_glued(client, author):
    post = make_post(
        author,
        body="<h2>Heading</h2><p>Paragraph one.</p><ul><li>a</li><li>b</li></ul><p>End<br>line</p>",
        body_format="html",
    )
    assert post.get_excerpt() == "Heading Paragraph one. a b End line"


def test_a_long_post_is_cut_at_55_words_and_an_excerpt_of_its_own_wins(client, author):
    words = " ".join(f"w{n}" for n in range(200))
    long = make_post(author, body=f"# Title\n\n{words}\n\n```\ncode\n```\n")
    assert long.get_excerpt() == "Title " + " ".join(f"w{n}" for n in range(54)) + " …"
    own = make_post(author, body=words, excerpt="Written by hand.")
    assert own.get_excerpt() == "Written by hand."
