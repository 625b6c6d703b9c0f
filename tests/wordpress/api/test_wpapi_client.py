"""node-wpapi, a widely used WordPress REST API client from npm, against a live cloudblog.

The client's own code does the discovery (Link header of the home page, then the index's
routes), pagination (X-WP-Total, X-WP-TotalPages, Link rel=next), filters, Basic auth
with an application password, the multipart upload and the update. Needs Node and npm
(the npm registry, once, for `npm ci`); skips with the reason when Node is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from blog.models import Post
from tests.factories import make_category, make_post
from tests.media_library.test_upload import image_bytes
from wordpress.app_passwords import app_password_create

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = Path(__file__).with_name("wpapi")


@pytest.fixture(scope="module")
def wpapi_installed():
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed to run node-wpapi")
    if not (CLIENT / "node_modules" / "wpapi").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=CLIENT,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return CLIENT


def test_wpapi_discovers_paginates_filters_creates_uploads_and_sets_featured_image(
    live_server, wpapi_installed, author, media_root, tmp_path
):
    news = make_category("News")
    posts = [make_post(author, categories=[news] if n % 2 else []) for n in range(5)]
    _, secret = app_password_create(user=author, name="node-wpapi", by=None)
    image = tmp_path / "photo.jpg"
    image.write_bytes(image_bytes())
    env = {
        **os.environ,
        "SITE_URL": live_server.url + "/",
        "CATEGORY_ID": str(news.pk),
        "WP_USERNAME": author.username,
        "WP_APP_PASSWORD": secret,
        "IMAGE_PATH": str(image),
    }
    run = subprocess.run(
        ["node", "client.js"],
        cwd=wpapi_installed,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)

    assert result["endpoint"] == f"{live_server.url}/wp-json/"
    newest_first = [p.pk for p in sorted(posts, key=lambda p: (p.published_at, p.pk), reverse=True)]
    assert [p["id"] for p in result["firstPage"]] == newest_first[:2]
    assert {p["author"] for p in result["firstPage"]} == {"Arthur Dent"}
    assert result["paging"] == {"total": 5, "totalPages": 3}
    assert result["secondPage"] == newest_first[2:4]
    assert set(result["inCategory"]) == {p.pk for p in posts if news in p.categories.all()}

    created = Post.objects.get(pk=result["created"]["id"])
    assert created.author == author and created.status == Post.Status.PUBLISHED
    assert created.featured_image_id == result["media"]["id"]
    assert result["readBack"]["featured_media"] == result["media"]["id"]
    assert result["readBack"]["embedded_source_url"] == result["media"]["source_url"]
    assert result["readBack"]["title"] == "Written by node-wpapi"
