"""/wp-json/openapi.json is a valid OpenAPI 3.1 document, and what every route answers,
live, validates against the schema the document declares for it."""

from __future__ import annotations

import json
import re

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from media_library.models import MediaItem
from tests.factories import make_category, make_comment, make_page, make_post, make_tag

from .conftest import basic

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(client):
    response = client.get("/wp-json/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def _schema_for(document, path: str, method: str, status: int) -> dict:
    responses = document["paths"][path][method]["responses"]
    answer = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"]["application/json"]["schema"]


def assert_matches(document, path: str, method: str, response) -> None:
    schema = {**_schema_for(document, path, method, response.status_code)}
    schema["components"] = document["components"]
    OAS31Validator(schema).validate(response.json())


def test_document_is_valid_openapi_31_and_lists_every_route(client, document):
    validate(document)  # openapi-spec-validator, against the 3.1 meta-schema
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "http://testserver/wp-json"}]
    index_routes = client.get("/wp-json/").json()["routes"]
    as_templates = {re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", p) for p in index_routes}
    assert set(document["paths"]) == as_templates
    per_page = next(
        p for p in document["paths"]["/wp/v2/posts"]["get"]["parameters"] if p["name"] == "per_page"
    )
    assert per_page["schema"] == {
        "description": "Maximum number of items to be returned in result set.",
        "type": "integer",
        "default": 10,
        "minimum": 1,
        "maximum": 100,
    }
    body = document["paths"]["/wp/v2/posts"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["additionalProperties"] is False


def _site(author):
    category, tag = make_category("Rivers"), make_tag("Boats")
    image = MediaItem.objects.create(title="A photo", uploaded_by=author, width=4, height=3)
    post = make_post(author, categories=[category], tags=[tag], featured_image=image)
    page = make_page(author, title="About")
    comment = make_comment(post)
    return {
        "id": None,  # per route below
        "posts": post.pk,
        "pages": page.pk,
        "categories": category.pk,
        "tags": tag.pk,
        "comments": comment.pk,
        "media": image.pk,
        "users": author.pk,
        "type": "post",
        "status": "publish",
        "taxonomy": "category",
    }


def _url(template: str, ids: dict) -> str:
    collection = template.split("/")[3] if template.count("/") > 3 else ""
    return re.sub(
        r"\{(\w+)\}", lambda m: str(ids[collection] if m[1] == "id" else ids[m[1]]), template
    )


def test_every_get_route_answers_what_its_schema_declares(
    client, document, author, administrator, app_auth
):
    ids = _site(author)
    admin = app_auth(administrator)
    checked = []
    for template, operations in document["paths"].items():
        if "get" not in operations:
            continue
        url = "/wp-json" + _url(template, ids)
        for context, auth in (("view", {}), ("embed", {}), ("edit", admin)):
            if template in ("/", "/wp/v2") and context != "view":
                continue  # the indexes take only context=view
            query = {"context": context}
            if template == "/wp/v2/search":
                query["type"] = "term" if context == "edit" else "post"
                query["context"] = "view" if context == "edit" else context
            response = client.get(url, query, **auth)
            if template in ("/wp/v2/settings", "/wp/v2/users/me") and not auth:
                assert response.status_code == 401
            else:
                assert response.status_code == 200, (url, context, response.content[:300])
                assert response.json(), (url, context)  # something real was checked
            assert_matches(document, template, "get", response)
            checked.append(template)
    assert set(checked) == {t for t, ops in document["paths"].items() if "get" in ops}


def test_writes_and_errors_answer_what_the_schema_declares(client, document, editor, app_auth):
    auth = app_auth(editor)

    def send(method, url, body=None):
        payload = json.dumps(body) if body is not None else ""
        return getattr(client, method)(url, payload, content_type="application/json", **auth)

    created = send("post", "/wp-json/wp/v2/posts", {"title": "Schema", "status": "publish"})
    assert created.status_code == 201
    assert_matches(document, "/wp/v2/posts", "post", created)
    post_id = created.json()["id"]
    updated = send("patch", f"/wp-json/wp/v2/posts/{post_id}", {"title": "Schema 2"})
    assert_matches(document, "/wp/v2/posts/{id}", "patch", updated)
    trashed = send("delete", f"/wp-json/wp/v2/posts/{post_id}")
    assert trashed.json()["status"] == "trash"
    assert_matches(document, "/wp/v2/posts/{id}", "delete", trashed)
    deleted = send("delete", f"/wp-json/wp/v2/posts/{post_id}?force=true")
    assert deleted.json()["deleted"] is True
    assert_matches(document, "/wp/v2/posts/{id}", "delete", deleted)
    term = send("post", "/wp-json/wp/v2/tags", {"name": "Schema tag"})
    assert term.status_code == 201
    assert_matches(document, "/wp/v2/tags", "post", term)

    missing = client.get("/wp-json/wp/v2/posts/999999")
    assert missing.status_code == 404
    assert_matches(document, "/wp/v2/posts/{id}", "get", missing)
    bad = client.get("/wp-json/wp/v2/posts", {"per_page": 1000})
    assert bad.status_code == 400
    assert_matches(document, "/wp/v2/posts", "get", bad)
    stranger = client.get("/wp-json/wp/v2/settings", **basic(editor, "wrong password"))
    assert stranger.status_code == 401
    assert_matches(document, "/wp/v2/settings", "get", stranger)
