"""pages_changed() bumps the page generation once per transaction, however many changes it
holds (an import makes thousands), and never loses the bump to a savepoint rolled back."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from webtier.page_cache import _bump_generation, pages_changed

pytestmark = pytest.mark.django_db


def _bumps() -> int:
    return sum(1 for _, func, _ in connection.run_on_commit if func is _bump_generation)


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 60


def test_many_changes_in_one_transaction_bump_once():
    with transaction.atomic():
        for _ in range(3):
            with transaction.atomic():
                pages_changed()
        pages_changed()
        assert _bumps() == 1


def test_a_bump_undone_with_its_savepoint_is_registered_again():
    with transaction.atomic():
        try:
            with transaction.atomic():
                pages_changed()
                raise RuntimeError("this record fails")
        except RuntimeError:
            pass
        assert _bumps() == 0
        with transaction.atomic():
            pages_changed()
        assert _bumps() == 1
