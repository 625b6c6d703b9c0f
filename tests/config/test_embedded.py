"""The embedded site (`make run`) needs no service client: no MySQL, no Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import sys
# As on a machine where only the core dependencies are installed.
for name in ("MySQLdb", "django_redis", "redis"):
    sys.modules[name] = None
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("seed_demo", verbosity=0)
from django.test import Client
client = Client()
for path in ("/", "/feed/", "/sitemap.xml", "/healthz", "/about/", "/admin/login/"):
    status = client.get(path, HTTP_HOST="127.0.0.1").status_code
    assert status == 200, (path, status)
print("embedded ok")
"""


def test_the_embedded_site_runs_without_the_mysql_and_redis_clients(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "DJANGO_", "SESSION_", "PAGE_CACHE"))
    }
    env.update(CLOUDBLOG_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")

    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    assert "embedded ok" in result.stdout
