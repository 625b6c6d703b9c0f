"""`manage.py app_password` and the user's admin page: create, list, revoke."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from tests.factories import PASSWORD
from wordpress.app_passwords import ApplicationPassword

from .conftest import basic

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("app_password", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_password_once_in_groups_of_four_and_it_works(client, author):
    out = run("create", author.username, "--name", "Deploy script")
    secret = re.search(r"^    ((?:[A-Za-z0-9]{4} ){5}[A-Za-z0-9]{4})$", out, re.M).group(1)
    assert secret.replace(" ", "") not in ApplicationPassword.objects.get().password_hash
    assert client.get("/wp-json/wp/v2/users/me", **basic(author, secret)).status_code == 200
    listing = run("list", author.username)
    assert "Deploy script" in listing and "127.0.0.1" in listing and secret not in listing
    with pytest.raises(CommandError, match="unique"):
        run("create", author.username, "--name", "Deploy script")
    assert "Revoked" in run("revoke", author.username, "--name", "Deploy script")
    assert client.get("/wp-json/wp/v2/users/me", **basic(author, secret)).status_code == 401


def test_unknown_user_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("list", "nobody")


def test_user_admin_page_lists_application_passwords(client, administrator, author):
    run("create", author.username, "--name", "Phone app")
    client.login(username=administrator.username, password=PASSWORD)
    page = client.get(f"/admin/auth/user/{author.pk}/change/")
    assert page.status_code == 200
    assert b"Phone app" in page.content and b"application passwords" in page.content.lower()


def test_administrator_adds_one_on_the_users_admin_page_and_sees_it_once(
    client, administrator, author
):
    client.force_login(administrator)
    url = f"/admin/auth/user/{author.pk}/change/"
    form = {
        "username": author.username, "first_name": "A", "last_name": "D",
        "email": author.email, "is_active": "on", "role": "Author",
        "application_passwords-TOTAL_FORMS": "1", "application_passwords-INITIAL_FORMS": "0",
        "application_passwords-0-name": "Laptop", "application_passwords-0-user": author.pk,
    }  # fmt: skip
    response = client.post(url, form, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    secret = re.search(r"((?:[A-Za-z0-9]{4} ){5}[A-Za-z0-9]{4})", " ".join(shown)).group(1)
    assert ApplicationPassword.objects.get(user=author).name == "Laptop"
    assert client.get("/wp-json/wp/v2/users/me", **basic(author, secret)).status_code == 200
    assert secret not in client.get(url).content.decode()
