"""Users and roles in the admin: one WordPress role per user, staff access following it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from blog import roles
from tests.blog.test_admin_posts import messages_of
from tests.factories import make_user

pytestmark = pytest.mark.django_db

User = get_user_model()
USERS = reverse("admin:auth_user_changelist")


def change_url(user) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def user_form(user, **fields) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "role": "",
        # The user page's inline of application passwords (wordpress/admin.py), empty.
        "application_passwords-TOTAL_FORMS": "0",
        "application_passwords-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def role_of(user) -> str | None:
    return roles.user_role(User.objects.get(pk=user.pk))


def test_making_a_subscriber_an_author_gives_admin_access(client, administrator, subscriber):
    client.force_login(administrator)
    response = client.post(change_url(subscriber), user_form(subscriber, role=roles.AUTHOR))
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.is_staff
    assert list(subscriber.groups.values_list("name", flat=True)) == [roles.AUTHOR]
    assert subscriber.has_perm("blog.publish_post")


def test_making_an_author_a_subscriber_takes_admin_access_away(client, administrator, author):
    client.force_login(administrator)
    client.post(change_url(author), user_form(author, role=roles.SUBSCRIBER))
    author.refresh_from_db()
    assert not author.is_staff
    assert role_of(author) == roles.SUBSCRIBER
    client.force_login(author)
    assert client.get(reverse("admin:index")).status_code == 302


def test_no_role_leaves_no_group_and_no_staff(client, administrator, editor):
    client.force_login(administrator)
    client.post(change_url(editor), user_form(editor, role=""))
    editor.refresh_from_db()
    assert (editor.is_staff, editor.groups.count()) == (False, 0)


def test_change_form_shows_the_current_role(client, administrator, editor):
    client.force_login(administrator)
    form = client.get(change_url(editor)).context["adminform"].form
    assert form.fields["role"].initial == roles.EDITOR


def test_administrator_cannot_demote_themselves(client, administrator):
    client.force_login(administrator)
    response = client.post(change_url(administrator), user_form(administrator, role=roles.EDITOR))
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert role_of(administrator) == roles.ADMINISTRATOR


def test_staff_flag_and_superuser_cannot_be_forged_through_the_form(
    client, administrator, subscriber
):
    client.force_login(administrator)
    data = user_form(subscriber, role=roles.SUBSCRIBER, is_staff="on", is_superuser="on")
    assert client.post(change_url(subscriber), data).status_code == 302
    subscriber.refresh_from_db()
    assert (subscriber.is_staff, subscriber.is_superuser) == (False, False)


def test_adding_a_user_with_a_role(client, administrator):
    client.force_login(administrator)
    data = {
        "username": "newbie",
        "email": "newbie@example.com",
        "role": roles.CONTRIBUTOR,
        "usable_password": "true",
        "password1": "a-long-enough-passphrase-1",
        "password2": "a-long-enough-passphrase-1",
    }
    response = client.post(reverse("admin:auth_user_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    newbie = User.objects.get(username="newbie")
    assert newbie.is_staff and role_of(newbie) == roles.CONTRIBUTOR
    assert any("was added successfully" in m for m in messages_of(response))


def test_list_shows_roles_and_filters_by_them(client, administrator, editor, author, subscriber):
    client.force_login(administrator)
    response = client.get(USERS)
    assert b'<td class="field-role">Editor</td>' in response.content
    response = client.get(USERS, {"role": roles.AUTHOR})
    assert list(response.context["cl"].result_list) == [author]
    nobody = make_user(None, username="nobody")
    response = client.get(USERS, {"role": "none"})
    assert list(response.context["cl"].result_list) == [nobody]
    boss = make_user(None, username="boss", is_superuser=True)
    response = client.get(USERS, {"role": roles.ADMINISTRATOR})
    assert set(response.context["cl"].result_list) == {administrator, boss}


@pytest.mark.parametrize("person", ["editor", "author"])
def test_only_administrators_manage_users(client, request, person, subscriber):
    client.force_login(request.getfixturevalue(person))
    assert client.get(USERS).status_code == 403
    response = client.post(change_url(subscriber), user_form(subscriber, role=roles.EDITOR))
    assert response.status_code == 403
    assert role_of(subscriber) == roles.SUBSCRIBER
