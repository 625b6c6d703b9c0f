"""SESSION_STORE=dynamodb: sessions in a DynamoDB table (moto), through the login forms."""

from __future__ import annotations

import io
import time

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.test import Client
from django.urls import reverse

from tests.config.test_settings import error_line, start
from tests.factories import PASSWORD, make_user
from tests.net import unused_port
from webtier import sessions_dynamodb
from webtier.sessions_dynamodb import SessionStore, create_table, dynamodb_client

pytestmark = pytest.mark.django_db
TABLE = "cloudblog-test-sessions"


@pytest.fixture
def dynamodb(aws, settings):
    settings.SESSION_STORE = "dynamodb"
    settings.SESSION_ENGINE = "webtier.sessions_dynamodb"
    settings.SESSION_DYNAMODB_TABLE = TABLE
    create_table()
    return dynamodb_client()


def _item(client, key):
    return client.get_item(TableName=TABLE, Key={"session_key": {"S": key}}).get("Item")


def _login(client, user):
    response = client.post(reverse("blog:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client.cookies["sessionid"].value


def _logged_in(client) -> bool:
    return client.get(reverse("blog:profile")).status_code == 200


def test_a_login_is_a_session_item_that_any_instance_reads(dynamodb, author):
    key = _login(Client(), author)

    other_instance = Client()  # same cookie, no shared process state but the table
    other_instance.cookies["sessionid"] = key
    assert _logged_in(other_instance)
    item = _item(dynamodb, key)
    assert int(item["expires"]["N"]) > time.time()


def test_logout_deletes_the_item_at_once_and_the_old_cookie_is_dead(dynamodb, author):
    client = Client()
    key = _login(client, author)

    client.post(reverse("blog:logout"))

    assert _item(dynamodb, key) is None
    replay = Client()
    replay.cookies["sessionid"] = key
    assert not _logged_in(replay)


def test_an_expired_item_is_not_a_session_even_before_ttl_removes_it(dynamodb, author):
    client = Client()
    key = _login(client, author)
    dynamodb.update_item(
        TableName=TABLE,
        Key={"session_key": {"S": key}},
        UpdateExpression="SET expires = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    assert not _logged_in(client)
    assert SessionStore.clear_expired() == 1
    assert _item(dynamodb, key) is None


def test_a_key_another_instance_holds_is_never_handed_out_twice(dynamodb, monkeypatch):
    taken = SessionStore()
    taken["owner"] = "first"
    taken.create()
    keys = iter([taken.session_key, "k" * 32])
    monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: next(keys))

    second = SessionStore()
    second["owner"] = "second"
    second.create()

    assert second.session_key == "k" * 32
    assert SessionStore(taken.session_key).load() == {"owner": "first"}


def test_a_request_in_flight_cannot_write_back_a_session_that_was_logged_out(dynamodb):
    session = SessionStore()
    session["cart"] = 1
    session.create()
    in_flight = SessionStore(session.session_key)
    assert in_flight["cart"] == 1  # read at the start of a request
    session.delete()  # logout on another instance

    in_flight["cart"] = 2
    with pytest.raises(UpdateError):
        in_flight.save()
    assert _item(dynamodb, session.session_key) is None


def test_a_password_change_ends_the_users_other_sessions(dynamodb):
    user = make_user(username="pat")
    here, elsewhere = Client(), Client()
    _login(here, user)
    _login(elsewhere, user)

    response = here.post(
        reverse("blog:password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "An0ther-secret!",
            "new_password2": "An0ther-secret!",
        },
    )

    assert response.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere)


def test_the_clear_sessions_job_removes_expired_items(dynamodb, settings):
    from worker.tasks import clear_sessions

    old = SessionStore()
    old.set_expiry(-10)
    old.create()
    live = SessionStore()
    live.create()

    assert clear_sessions.call() == 1
    assert _item(dynamodb, old.session_key) is None
    assert _item(dynamodb, live.session_key) is not None


def test_create_table_twice_is_harmless(dynamodb):
    assert create_table() == TABLE
    assert (
        dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]["AttributeName"]
        == "expires"
    )


def test_a_bad_table_name_stops_the_start_naming_the_variable(tmp_path):
    result = start(tmp_path, SESSION_STORE="dynamodb", SESSION_DYNAMODB_TABLE="no")
    assert "SESSION_DYNAMODB_TABLE" in error_line(result)


def test_the_store_is_chosen_by_session_store(tmp_path):
    result = start(tmp_path, "SESSION_ENGINE", SESSION_STORE="dynamodb")
    assert "webtier.sessions_dynamodb" in result.stdout
    assert sessions_dynamodb.SessionStore.__module__ == "webtier.sessions_dynamodb"


def test_the_command_creates_the_table_once_and_says_so(aws, settings):
    from django.core.management import call_command

    settings.SESSION_DYNAMODB_TABLE = "made-by-command"
    out = io.StringIO()
    call_command("create_session_table", stdout=out)
    call_command("create_session_table", stdout=out)

    assert out.getvalue().count("Sessions table made-by-command is ready.") == 2
    assert dynamodb_client().describe_table(TableName="made-by-command")["Table"]


def test_the_command_explains_an_unreachable_dynamodb(aws, monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{unused_port()}")
    with pytest.raises(CommandError, match="could not create the sessions table"):
        call_command("create_session_table", "--table", "unreachable")
