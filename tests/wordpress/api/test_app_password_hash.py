"""Application passwords are stored as salted BLAKE2b hashes (WordPress 6.8 uses BLAKE2b
for them too); the first format still works and is rewritten on its next use, and a
revocation holds on the very next request."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.test import Client

from tests.wordpress.api.conftest import basic
from wordpress.app_passwords import ApplicationPassword, app_password_create, app_password_revoke

pytestmark = pytest.mark.django_db

ME = "/wp-json/wp/v2/users/me"


def test_a_new_password_is_stored_salted_never_as_itself(author):
    one, secret = app_password_create(user=author, name="phone", by=None)
    two, _ = app_password_create(user=author, name="laptop", by=None)
    assert one.password_hash.startswith("blake2b$") and secret not in one.password_hash
    salt_one, salt_two = one.password_hash.split("$")[1], two.password_hash.split("$")[1]
    assert salt_one != salt_two
    assert Client().get(ME, **basic(author, secret)).json()["id"] == author.pk
    assert Client().get(ME, **basic(author, secret[:-1] + "x")).status_code == 401


def test_a_hash_of_the_first_format_works_and_is_upgraded_on_use(author):
    secret = "abcdEFGH1234ijklMNOP5678"
    old = ApplicationPassword.objects.create(
        user=author,
        name="old client",
        password_hash="sha256$" + hashlib.sha256(secret.encode()).hexdigest(),
    )
    answer = Client().get(ME, **basic(author, "abcd EFGH 1234 ijkl MNOP 5678"))
    assert answer.status_code == 200 and answer.json()["id"] == author.pk
    old.refresh_from_db()
    assert old.password_hash.startswith("blake2b$") and old.last_used_at is not None
    assert Client().get(ME, **basic(author, secret)).status_code == 200  # still the same secret


def test_a_wrong_password_upgrades_nothing(author):
    legacy = "sha256$" + hashlib.sha256(b"abcdEFGH1234ijklMNOP5678").hexdigest()
    old = ApplicationPassword.objects.create(user=author, name="old", password_hash=legacy)
    assert Client().get(ME, **basic(author, "zzzzEFGH1234ijklMNOP5678")).status_code == 401
    old.refresh_from_db()
    assert old.password_hash == legacy


def test_a_revoked_password_is_refused_on_the_next_request(author):
    item, secret = app_password_create(user=author, name="lost phone", by=None)
    client = Client()
    assert client.get(ME, **basic(author, secret)).status_code == 200
    app_password_revoke(item=item, by=author)
    refused = client.get(ME, **basic(author, secret))
    assert refused.status_code == 401 and refused.json()["code"] == "incorrect_password"


def test_an_email_address_works_as_the_username(author):
    author.email = "arthur@example.com"
    author.save(update_fields=["email"])
    _, secret = app_password_create(user=author, name="by mail", by=None)
    token = base64.b64encode(f"Arthur@Example.com:{secret}".encode()).decode()
    answer = Client().get(ME, HTTP_AUTHORIZATION=f"Basic {token}")
    assert answer.json()["id"] == author.pk


def test_a_session_this_backend_recorded_ends_when_the_account_is_deactivated(author):
    reader = Client()
    reader.force_login(author, backend="wordpress.app_passwords.ApplicationPasswordBackend")
    assert reader.get("/").context["user"] == author
    author.is_active = False
    author.save()
    assert not reader.get("/").context["user"].is_authenticated
