"""CPU per page-cache hit, in-process: anonymous, and logged in (home and a post).

Drives Django's WSGI handler (`config.wsgi.application`) with hand-made WSGI environs, as
gunicorn would, N times per row, and prints the CPU milliseconds this process spent per
request (time.process_time), the wall milliseconds, the SQL queries and the database
connections opened per request. CPU time of one process barely moves with the machine's
load, so it is the figure to develop with while the box is shared (wall time does move:
it is printed only beside it). Redis and MariaDB run in their own processes: their work
is not in the CPU figure (the round trips are, in wall time).

It needs a site with content and a user, in the environment's database and Redis (the
page cache needs Redis), e.g. a database of your own:

    export DATABASE_URL=mysql://root@127.0.0.1:3306/cloudblog_mine REDIS_URL=redis://127.0.0.1:6379/5
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --posts 50
    .venv/bin/python manage.py ensure_admin      # or pass --username of a user you have
    export DJANGO_DEBUG=false DJANGO_SECRET_KEY=<50+ chars> SECURE_SSL_REDIRECT=false \
        SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false
    .venv/bin/python manage.py collectstatic --noinput && .venv/bin/python bench/hit_cpu.py -n 400

The logged-in rows sign in through a session made for `--username` (as the login view
would: django.contrib.auth.login), with the CSRF cookie the first page gave it, like a
browser; the session is deleted at the end. See bench/README.md, issue 17.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from run_cluster_bench import machine


def _environ(path: str, cookies: dict[str, str]) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "text/html",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return environ


class _Site:
    def __init__(self, application):
        self.application = application

    def get(self, path: str, cookies: dict[str, str]) -> tuple[str, dict, bytes]:
        answer: dict = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers

        body = b"".join(self.application(_environ(path, cookies), start_response))
        return answer["status"], answer["headers"], body


def _x_cache(headers) -> str:
    return next((v for k, v in headers if k.lower() == "x-cache"), "-")


def _sign_in(username: str):
    """A session for `username`, made as the login view makes one; its cookie value."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import get_user_model, login
    from django.http import HttpRequest

    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise SystemExit(f"no active user {username!r}: pass --username of one you have")
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.save()
    return request.session


def _row(site, path: str, cookies: dict[str, str], n: int) -> dict:
    from django.conf import settings
    from django.db import connections
    from django.db.backends.signals import connection_created

    csrf_cookie = settings.CSRF_COOKIE_NAME

    # Warm: the page into the cache, and (signed in) the CSRF cookie a browser would keep.
    for _ in range(3):
        status, headers, _ = site.get(path, cookies)
        for name, value in headers:
            cookie, _, _ = value.strip().partition(";")
            if name.lower() == "set-cookie" and cookie.startswith(f"{csrf_cookie}="):
                cookies[csrf_cookie] = cookie.split("=", 1)[1]
    queries = opened = 0

    def counting(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    def on_connect(**kwargs):
        nonlocal opened
        opened += 1

    connection_created.connect(on_connect)
    wrappers = [connections[alias].execute_wrapper(counting) for alias in connections]
    for wrapper in wrappers:
        wrapper.__enter__()
    states = set()
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            status, headers, _ = site.get(path, cookies)
            states.add(f"{status.split()[0]} {_x_cache(headers)}")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        for wrapper in wrappers:
            wrapper.__exit__(None, None, None)
        connection_created.disconnect(on_connect)
    return {
        "cpu_ms": cpu * 1000 / n,
        "wall_ms": wall * 1000 / n,
        "queries": queries / n,
        "connections": opened / n,
        "answers": ", ".join(sorted(states)),
    }


def _newest_post() -> str:
    from blog.models import Post

    post = Post.objects.published().filter(kind=Post.Kind.POST).order_by("-pk").first()
    if post is None:
        raise SystemExit("no published post: seed the site (manage.py seed_demo)")
    return post.get_absolute_url()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="requests per row (default 1000)")
    parser.add_argument("--username", default="admin", help="the logged-in rows' user")
    parser.add_argument("--post-path", help="the post page (default: the newest post's URL)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("-n must be at least 1")
    if not os.environ.get("REDIS_URL"):
        parser.error("the page cache needs Redis: set REDIS_URL (a db of your own)")

    from config.wsgi import application  # sets Django up: the app's models after it

    post_path = args.post_path or _newest_post()
    session = _sign_in(args.username)
    from django.conf import settings

    signed_in = {settings.SESSION_COOKIE_NAME: session.session_key}
    host = machine()
    print(
        f"{host['cpu']}, {host['cores']} cores, Python {host['python']}, "
        f"load average {os.getloadavg()[0]:.2f} before; {args.n} requests per row; "
        f"DATABASE_CONN_MAX_AGE={os.environ.get('DATABASE_CONN_MAX_AGE', '0')}, "
        f"SESSION_STORE={settings.SESSION_ENGINE.rsplit('.', 1)[-1]}"
    )
    site = _Site(application)
    rows = [
        ("anonymous, home", "/", {}),
        ("anonymous, post", post_path, {}),
        ("logged in, home", "/", dict(signed_in)),
        ("logged in, post", post_path, dict(signed_in)),
    ]
    print(f"{'row':<18} {'CPU ms':>7} {'wall ms':>8} {'queries':>8} {'connects':>9}  answers")
    try:
        for name, path, cookies in rows:
            r = _row(site, path, cookies, args.n)
            print(
                f"{name:<18} {r['cpu_ms']:>7.3f} {r['wall_ms']:>8.3f} {r['queries']:>8.2f} "
                f"{r['connections']:>9.2f}  {r['answers']}"
            )
    finally:
        session.delete()
    print(f"load average {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
