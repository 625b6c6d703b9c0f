"""The same search on the embedded default: SQLite with FTS5, in a process of its own.

The suite's database is MariaDB, so a child process with DATABASE_URL=sqlite:///... runs
the migrations (the FTS5 table and its triggers come from 0011, and 0011 fills the index
for posts written before it), writes posts through the services and searches over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import re
import django
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from blog import services
from blog.models import Post, SearchEntry
from blog.rendering import render_post_body
from django.contrib.auth import get_user_model

assert connection.vendor == "sqlite"
# A site from before the search: its posts exist when 0011 runs.
call_command("migrate", "blog", "0009", verbosity=0)
call_command("migrate", "axes", verbosity=0)
author = get_user_model().objects.create_superuser("ada", "ada@example.com", "pw")
old = Post(author=author, title="Old lighthouse", slug="old", status="publish",
           comment_status="open",  # its default reads the site's settings: no table yet
           published_at=timezone.now() - timedelta(days=9),
           body_html=render_post_body("Keepers and lamps.", "markdown", allow_embeds=False))
old.save()
call_command("migrate", verbosity=0)

def write(title, body, **fields):
    fields.setdefault("status", "publish")
    return services.post_write(post=Post(title=title, body=body, **fields), by=author)

write("Paddling notes", "We took the kayak out at dawn.")
write("Kayak season", "A short one.")
write("Locked diary", "The combination is marmalade.", password="pw")
write("Draft kayak", "Never found.", status="draft")
write("Sea kayak", "A sea kayak is long and narrow.")
write("Scheduled kayak", "Later.", published_at=timezone.now() + timedelta(days=1))
write("Payload", "<p>kayak &lt;script&gt;alert(1)&lt;/script&gt;</p>", body_format="html")

client = Client()
def titles(q, **params):
    response = client.get("/search/", {"q": q, **params}, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, (q, response.status_code)
    html = response.content.decode()
    found = re.findall(r'<article class="post-summary.*?<h2>(.*?)</h2>', html, re.S)
    return [re.sub(r"<[^>]+>", "", t) for t in found], html

found, html = titles("kayak")
assert found[0] in ("Kayak season", "Sea kayak"), found
assert found.index("Paddling notes") > found.index("Kayak season"), found
assert set(found) == {"Kayak season", "Sea kayak", "Paddling notes", "Payload"}, found
assert "took the <mark>kayak</mark> out" in html, html
assert "<mark>kayak</mark> &lt;script&gt;alert(1)&lt;/script&gt;" in html
assert titles("lamps")[0] == ["Old lighthouse"]
assert titles("diary")[0] == ["Locked diary"]
assert titles("marmalade")[0] == [] and titles("never")[0] == []
assert titles('"sea kayak is"')[0] == ["Sea kayak"]
assert titles("kaya*")[0] and titles("kaya")[0] == []
assert titles("kayak dawn")[0] == ["Paddling notes"]
for q in ("", "a", '+-*"()~<>@', '"', "NEAR(", "kayak OR", "title:kayak", "^kayak", "x" * 500):
    titles(q)
past = client.get("/search/", {"q": "kayak", "page": 2}, HTTP_HOST="127.0.0.1")
assert past.status_code == 404  # four results make one page
# FTS5's operators typed by a visitor are words like any other: every one is required,
# but for stopwords ("or"), left out on SQLite as on MariaDB.
assert titles("kayak NOT sea")[0] == [] and titles("kayak OR dawn")[0] == ["Paddling notes"]
post = Post.objects.get(title="Kayak season")
services.post_trash(post=post, by=author)
assert "Kayak season" not in titles("kayak")[0]
assert SearchEntry.objects.count() == 6  # published and scheduled, trash and drafts not
print("sqlite search ok")
"""


def test_search_works_on_the_embedded_sqlite_database(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "DJANGO_", "SESSION_", "PAGE_CACHE"))
    }
    env.update(
        CLOUDBLOG_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{tmp_path}/search.sqlite3",
    )

    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    assert "sqlite search ok" in result.stdout
