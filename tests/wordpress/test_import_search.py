"""What a WordPress import brings in is found by the site search at once, as WordPress's was.

Transactional: InnoDB's FULLTEXT index sees committed rows only.
"""

from __future__ import annotations

import pytest

from tests.wordpress.conftest import run_import, wxr

pytestmark = pytest.mark.django_db(transaction=True)


def test_imported_published_content_is_searchable_and_the_rest_is_not(client, administrator):
    result = run_import(wxr("small-export.xml"))
    assert result.code == 0, result.out + result.err

    def found(search: str) -> set[str]:
        response = client.get("/wp-json/wp/v2/search", {"search": search})
        assert response.status_code == 200
        return {hit["title"] for hit in response.json()}

    assert "Hello world!" in found("hello")
    assert "Sample Page" in found("sample")
    assert found("draft") == set() and found("private") == set()
    site = client.get("/search/", {"q": "hello"}).content.decode()
    assert "<mark>Hello</mark> world!" in site
