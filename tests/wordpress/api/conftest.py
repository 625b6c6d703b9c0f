"""Helpers for the API's tests: a JSON client and application passwords by role."""

from __future__ import annotations

import base64

import pytest

from wordpress.app_passwords import app_password_create


def basic(user, secret: str) -> dict:
    token = base64.b64encode(f"{user.get_username()}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def app_auth():
    """app_auth(user) -> headers with a fresh application password of `user`, in groups of four."""

    def make(user, name: str = "test client") -> dict:
        _, secret = app_password_create(user=user, name=name, by=None)
        return basic(user, " ".join(secret[i : i + 4] for i in range(0, 24, 4)))

    return make
