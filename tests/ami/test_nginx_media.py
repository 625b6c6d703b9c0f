"""nginx's /media/ (the AMI's server and the Beanstalk bundle's additions) serves what the
application's own media view serves, the same way: every file type the library stores
with the Content-Type the application gives it, `nosniff`, and as a download unless a
browser shows that type itself; never the private originals. A real nginx answers real
GETs: the config as shipped, with only its listen address and media folder changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from media_library.views import CONTENT_TYPES
from media_store import documents
from tests.net import unused_port

REPO = Path(__file__).resolve().parents[2]
AMI_CONF = REPO / "ami" / "files" / "nginx" / "cloudblog.conf"
EB_CONF = REPO / "deploy" / "beanstalk" / "platform" / "nginx" / "web.conf"
NGINX = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
MOUNT = "/mnt/cloudblog-media/"


def _server(conf: Path, port: int, media: Path) -> str:
    text = conf.read_text().replace(MOUNT, f"{media}/")
    if conf == EB_CONF:  # the platform's server block holds these lines
        return f"server {{\n listen 127.0.0.1:{port};\n{text}\n}}\n"
    text = text.replace("listen [::]:80 default_server;", "")
    return text.replace("listen 80 default_server;", f"listen 127.0.0.1:{port};")


@pytest.fixture(params=[AMI_CONF, EB_CONF], ids=["ami", "beanstalk"])
def nginx(request, tmp_path):
    """(base URL, media folder) of an nginx running the shipped config."""
    media = tmp_path / "media"
    media.mkdir()
    port = unused_port()
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
        + "".join(f" {name}_temp_path {folder};\n" for name, folder in temp.items()).replace(
            " body_temp_path", " client_body_temp_path"
        )
        + f" access_log off;\n{_server(request.param, port, media)}}}\n"
    )
    # One process, as this user: a root master hands requests to `nobody`, who may not
    # read pytest's temporary folder.
    command = [NGINX, "-e", str(tmp_path / "error.log"), "-c", str(config)]
    process = subprocess.Popen(
        [*command, "-g", "daemon off; master_process off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            urllib.request.urlopen(f"{base}/media/", timeout=2)
        except urllib.error.HTTPError:
            break  # answering
        except OSError:
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        else:
            break
    yield base, media
    process.terminate()
    process.wait(10)


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, b""


def test_every_stored_file_type_is_served_with_its_type_and_downloads_as_downloads(nginx):
    base, media = nginx
    expected = {ext.lstrip("."): (mime, True) for ext, mime in CONTENT_TYPES.items()}
    for extension, (file_type, _rule) in documents.TYPES.items():
        expected[extension] = (file_type.mime_type.replace("; ", ";").lower(), file_type.inline)
    (media / "2026" / "12").mkdir(parents=True)
    for extension in expected:
        (media / "2026" / "12" / f"7-file.{extension}").write_bytes(
            b"bytes of " + extension.encode()
        )

    for extension, (content_type, shown) in expected.items():
        status, headers, body = _get(f"{base}/media/2026/12/7-file.{extension}")
        assert status == 200, extension
        assert body == b"bytes of " + extension.encode()
        assert headers["Content-Type"].replace(" ", "").lower() == content_type, extension
        assert headers["X-Content-Type-Options"] == "nosniff", extension
        assert "sandbox" in headers["Content-Security-Policy"], extension
        disposition = headers.get("Content-Disposition", "")
        assert disposition.startswith("attachment") != shown, extension


def test_a_file_of_any_other_type_is_an_octet_stream_download(nginx):
    base, media = nginx
    for name in ("page.html", "drawing.svg", "script.js", "no-extension"):
        (media / name).write_bytes(b"<script>alert(1)</script>")
        status, headers, _ = _get(f"{base}/media/{name}")
        assert status == 200
        assert headers["Content-Type"] == "application/octet-stream", name
        assert headers["Content-Disposition"].startswith("attachment"), name
        assert headers["X-Content-Type-Options"] == "nosniff", name


def test_the_private_originals_are_never_served(nginx):
    base, media = nginx
    (media / "private" / "2026").mkdir(parents=True)
    (media / "private" / "2026" / "7-photo.jpg").write_bytes(b"original with GPS")
    assert _get(f"{base}/media/private/2026/7-photo.jpg")[0] == 404
    assert _get(f"{base}/media/PRIVATE/2026/7-photo.jpg")[0] == 404
