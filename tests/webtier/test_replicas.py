"""Reads from the replica, writes and signed-in visitors on the writer, and a writer outage.

The replica here is a second connection to the test database, as Aurora's reader
endpoint is a second endpoint onto the same data. Being a separate connection, it
sees only committed rows, so these tests are transactional; which alias served a
read is told by the queries captured on each connection. "Writer down" points the
`default` alias at a closed port, or kills its session mid-transaction.
"""

from __future__ import annotations

import copy
import io
import time
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.utils import IntegrityError, OperationalError
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from blog.models import Comment, Post
from tests.factories import make_comment, make_post
from webtier.routing import (
    PIN_COOKIE,
    REPLICA,
    ReplicaRoutingMiddleware,
    is_writer_unavailable,
    replica_marked_down,
    reset_replica_breaker,
)

pytestmark = [
    pytest.mark.skipif(
        connections[DEFAULT_DB_ALIAS].vendor != "mysql",
        reason="replica and writer-outage tests need DATABASE_URL=mysql://...",
    ),
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA]),
]

JANE = {"name": "Jane Reader", "email": "jane@example.org"}


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup):
    """The `replica` alias, as DATABASE_REPLICA_URL would configure it, for this module."""
    if REPLICA in connections.settings:  # DATABASE_REPLICA_URL was set: already a mirror
        yield
        return
    replica = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)  # the test db
    replica["TEST"]["MIRROR"] = DEFAULT_DB_ALIAS  # so flushes and migrations skip it
    connections.settings[REPLICA] = replica
    yield
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture(autouse=True)
def _replica_breaker_closed():
    reset_replica_breaker()
    yield
    reset_replica_breaker()


@pytest.fixture
def visitor():
    """An anonymous browser that gets the error page a real visitor would, not a traceback."""
    return Client(raise_request_exception=False)


@pytest.fixture
def post(author):
    post = make_post(author, title="Replicated words")
    make_comment(post, author_name=JANE["name"], author_email=JANE["email"], body="First!")
    return post


@contextmanager
def _reads():
    """Captures the queries each alias ran, as `.writer` and `.replica`."""
    with ExitStack() as stack:
        yield SimpleNamespace(
            writer=stack.enter_context(CaptureQueriesContext(connections[DEFAULT_DB_ALIAS])),
            replica=stack.enter_context(CaptureQueriesContext(connections[REPLICA])),
        )


def _from(captured, table: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if f"FROM `{table}`" in q["sql"]]


@contextmanager
def _unreachable(alias: str):
    """Point one alias at a closed port, as a dead endpoint would be; the other keeps its own."""
    connection = connections[alias]
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = saved


def _writer_down():
    return _unreachable(DEFAULT_DB_ALIAS)


def _replica_down():
    return _unreachable(REPLICA)


def _kill_session(connection) -> None:
    """What a failover does to the writer's open sessions: the server cuts them."""
    import MySQLdb  # only here: the module is skipped, not broken, without mysqlclient

    s = connection.settings_dict
    operator = MySQLdb.connect(
        host=s["HOST"], port=int(s["PORT"]), user=s["USER"], password=s["PASSWORD"]
    )
    try:
        operator.cursor().execute("KILL CONNECTION %s", [connection.connection.thread_id()])
    finally:
        operator.close()


def _comment(client, post, **fields):
    data = {**JANE, "body": "Written while you read.", **fields}
    return client.post(reverse("blog:comment-post", args=[post.pk]), data)


def _routed_for(method: str, path: str, model=Post, **cookies) -> str:
    """Where a read of `model` would go while the middleware handles this request."""
    request = RequestFactory().generic(method, path)
    request.COOKIES.update(cookies)
    seen = []

    def view(request):
        seen.append(router.db_for_read(model))
        return HttpResponse()

    ReplicaRoutingMiddleware(view)(request)
    return seen[0]


# --- who reads where --------------------------------------------------------


def test_anonymous_visitor_reads_home_and_post_pages_from_the_replica(visitor, post):
    with _reads() as reads:
        home = visitor.get(reverse("blog:home"))
        page = visitor.get(post.get_absolute_url())

    assert home.status_code == 200 and "Replicated words" in home.content.decode()
    assert page.status_code == 200 and "First!" in page.content.decode()
    assert _from(reads.replica, "blog_post") and _from(reads.replica, "blog_comment")
    # Only two small reads go to the writer, on purpose: the site's settings (one row per
    # change, which a lagging replica's copy would leave stale on every instance:
    # blog/site_settings.py) and the cache's key epoch (webtier/cache.py).
    on_writer = [q["sql"] for q in reads.writer.captured_queries]
    assert all("blog_sitesettings" in q or "blog_cacheepoch" in q for q in on_writer), on_writer


def test_signed_in_reader_reads_from_the_writer(client, post, subscriber):
    client.force_login(subscriber)

    with _reads() as reads:
        response = client.get(reverse("blog:home"))

    assert "Replicated words" in response.content.decode()
    assert _from(reads.writer, "blog_post")
    assert not reads.replica.captured_queries


def test_staff_in_the_admin_read_from_the_writer(client, post, editor):
    client.force_login(editor)

    with _reads() as reads:
        response = client.get(reverse("admin:blog_post_changelist"))

    assert "Replicated words" in response.content.decode()
    assert _from(reads.writer, "blog_post")
    assert not reads.replica.captured_queries


def test_a_comment_post_reads_and_writes_on_the_writer(visitor, post):
    with _reads() as reads:
        response = _comment(visitor, post)

    assert response.status_code == 302
    assert _from(reads.writer, "blog_post")
    assert not reads.replica.captured_queries


@pytest.mark.parametrize(
    ("method", "path", "where"),
    [
        ("GET", "/", "replica"),
        ("HEAD", "/2024/05/some-post/", "replica"),
        ("POST", "/", "default"),
        ("OPTIONS", "/", "default"),
        ("GET", "/admin/blog/post/", "default"),
        ("GET", "/accounts/login/", "default"),
        ("GET", "/preview/1/", "default"),
    ],
)
def test_only_public_gets_and_heads_may_read_from_the_replica(method, path, where):
    assert _routed_for(method, path) == where


def test_a_session_cookie_keeps_a_visitor_on_the_writer(settings):
    assert _routed_for("GET", "/", **{settings.SESSION_COOKIE_NAME: "anything"}) == "default"


def test_author_page_reads_the_user_from_the_writer_and_posts_from_the_replica(visitor, post):
    with _reads() as reads:
        response = visitor.get(reverse("blog:author", args=[post.author.username]))

    assert "Replicated words" in response.content.decode()
    assert _from(reads.writer, "auth_user")
    assert not _from(reads.replica, "auth_user")
    assert _from(reads.replica, "blog_post")


@pytest.mark.parametrize("model", [get_user_model(), Session, Permission, ContentType])
def test_auth_session_and_permission_reads_stay_on_the_writer_even_for_anonymous_gets(model):
    assert _routed_for("GET", "/", model=model) == "default"


def test_reads_inside_a_transaction_on_the_writer_stay_on_the_writer():
    seen = []

    def view(request):
        with transaction.atomic():
            seen.append(router.db_for_read(Post))
        seen.append(router.db_for_read(Post))
        return HttpResponse()

    ReplicaRoutingMiddleware(view)(RequestFactory().get("/"))

    assert seen == ["default", "replica"]


def test_code_outside_a_request_reads_from_the_writer(visitor, post):
    visitor.get(reverse("blog:home"))  # the request's decision must not outlive it

    with _reads() as reads:
        call_command("empty_trash", "--dry-run", stdout=io.StringIO())
        Post.objects.get(pk=post.pk)

    assert _from(reads.writer, "blog_post")
    assert not reads.replica.captured_queries


# --- read-your-writes -------------------------------------------------------


def test_commenter_reads_their_comment_from_the_writer_right_after_posting(visitor, post):
    response = _comment(visitor, post)

    pin = response.cookies[PIN_COOKIE]
    assert pin["httponly"] and pin["samesite"] == "Lax"
    with _reads() as reads:
        page = visitor.get(response["Location"])

    assert "Written while you read." in page.content.decode()
    assert _from(reads.writer, "blog_post") and _from(reads.writer, "blog_comment")
    assert not reads.replica.captured_queries


def test_commenter_is_back_on_the_replica_once_the_pin_has_expired(
    visitor, post, settings, time_machine
):
    time_machine.move_to(timezone.now())
    _comment(visitor, post)
    time_machine.shift(timedelta(seconds=settings.READ_YOUR_WRITES_SECONDS + 1))

    with _reads() as reads:
        visitor.get(post.get_absolute_url())

    assert PIN_COOKIE in visitor.cookies
    assert _from(reads.replica, "blog_post")
    assert not _from(reads.writer, "blog_post")


def test_an_edited_pin_cookie_is_ignored(visitor, post):
    _comment(visitor, post)
    written_at, signed_at, signature = visitor.cookies[PIN_COOKIE].value.split(":")
    visitor.cookies[PIN_COOKIE] = f"{int(written_at) + 1}:{signed_at}:{signature}"

    with _reads() as reads:
        visitor.get(post.get_absolute_url())

    assert _from(reads.replica, "blog_post")
    assert not _from(reads.writer, "blog_post")


def test_read_your_writes_off_sets_no_pin(visitor, post, settings):
    settings.READ_YOUR_WRITES_SECONDS = 0

    response = _comment(visitor, post)

    assert response.status_code == 302
    assert PIN_COOKIE not in response.cookies


# --- the replica is down ----------------------------------------------------


def test_a_dead_replica_costs_anonymous_readers_nothing(visitor, post):
    with _reads() as reads, _replica_down():
        home = visitor.get(reverse("blog:home"))
        page = visitor.get(post.get_absolute_url())

    assert home.status_code == 200 and "Replicated words" in home.content.decode()
    assert page.status_code == 200 and "First!" in page.content.decode()
    assert _from(reads.writer, "blog_post") and not reads.replica.captured_queries
    assert replica_marked_down()


def test_after_a_replica_failure_the_process_leaves_it_alone_then_tries_again(
    visitor, post, settings
):
    settings.REPLICA_RETRY_SECONDS = 1
    with _replica_down():
        visitor.get(reverse("blog:home"))
    assert replica_marked_down()  # it is back, but this process does not know yet

    with _reads() as meanwhile:
        visitor.get(reverse("blog:home"))
    time.sleep(1.1)
    with _reads() as later:
        visitor.get(reverse("blog:home"))

    assert _from(meanwhile.writer, "blog_post") and not meanwhile.replica.captured_queries
    assert _from(later.replica, "blog_post") and not _from(later.writer, "blog_post")


def test_a_failing_writer_is_not_mistaken_for_a_failing_replica(visitor, post):
    with _writer_down():
        visitor.get(reverse("blog:home"))

    assert not replica_marked_down()


# --- the writer is down -----------------------------------------------------


def test_anonymous_visitors_keep_reading_while_the_writer_is_down(visitor, post):
    with _writer_down():
        home = visitor.get(reverse("blog:home"))
        page = visitor.get(post.get_absolute_url())

    assert home.status_code == 200 and "Replicated words" in home.content.decode()
    assert page.status_code == 200 and "First!" in page.content.decode()


def test_comment_sent_while_the_writer_is_down_gets_a_retry_later_page_and_saves_nothing(
    visitor, post, settings
):
    with _writer_down():
        response = _comment(visitor, post)

    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.WRITER_RETRY_AFTER)
    assert "Back in a moment" in body
    assert "Traceback" not in body and "OperationalError" not in body
    assert PIN_COOKIE not in response.cookies  # nothing was written to wait for
    assert not Comment.objects.filter(body="Written while you read.").exists()


def test_writer_dying_between_insert_and_commit_leaves_no_half_written_comment(visitor, post):
    def die_after_the_insert(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("INSERT INTO `blog_comment`"):
            _kill_session(context["connection"])
        return result

    with connections[DEFAULT_DB_ALIAS].execute_wrapper(die_after_the_insert):
        response = _comment(visitor, post)
    connections[DEFAULT_DB_ALIAS].close()  # as the next request would: a fresh session

    assert response.status_code == 503
    assert list(Comment.objects.values_list("body", flat=True)) == ["First!"]
    post.refresh_from_db()
    assert post.comment_count == 1


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1290, 503),  # --read-only: a writer demoted by a failover
        (1205, 500),  # lock wait timeout: the writer is there, something else is wrong
    ],
)
def test_only_an_unavailable_writer_turns_a_failed_write_into_a_503(visitor, post, code, status):
    def refuse_the_insert(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO `blog_comment`"):
            raise OperationalError(code, "refused")
        return execute(sql, params, many, context)

    with connections[DEFAULT_DB_ALIAS].execute_wrapper(refuse_the_insert):
        response = _comment(visitor, post)

    assert response.status_code == status
    assert not Comment.objects.filter(body="Written while you read.").exists()


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (OperationalError(2003, "Can't connect to MySQL server"), True),
        (OperationalError(2013, "Lost connection to MySQL server during query"), True),
        (OperationalError(1836, "Running in read-only mode"), True),
        (OperationalError(1045, "Access denied"), False),
        (OperationalError("database is locked"), False),
        (IntegrityError(2006, "not an OperationalError"), False),
        (ValueError(2006), False),
        (None, False),
    ],
)
def test_writer_unavailable_means_connection_loss_or_read_only(exc, unavailable):
    assert is_writer_unavailable(exc) is unavailable
