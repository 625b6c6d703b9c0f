"""The renditions task: idempotent under two concurrent workers (real MariaDB), and the
periodic retry of items whose renditions failed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection

from media_library import tasks as media_tasks
from media_library.models import MediaItem
from tests.factories import PASSWORD
from tests.media_library.test_upload import image_bytes, stored_files, upload

DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def _pending_item(client, user, settings, name="race.jpg") -> MediaItem:
    # The dummy backend records the task without running it: the item stays pending.
    settings.TASKS = DUMMY_TASKS
    client.login(username=user.username, password=PASSWORD)
    response = upload(client, image_bytes((2600, 1600)), name)
    assert response.status_code == 201
    item = MediaItem.objects.get(pk=response.json()["id"])
    assert item.status == MediaItem.Status.PENDING
    return item


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_image_end_with_the_same_files_and_row(client, author, settings):
    # Both workers render the image at once: about 1 s of CPU each, but 5-10 s of wall
    # time at load average 15 on two cores, where MEDIA_MAX_SECONDS (10, wall-clock) then
    # refused the image now and then. The bound has tests of its own
    # (test_bounded_uploads.py); here it only measured how busy the machine was.
    settings.MEDIA_MAX_SECONDS = 120
    item = _pending_item(client, author, settings)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(media_tasks.renditions_make(item_id=item.pk))
        except Exception as exc:  # reported below, with the thread's error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(results) == ["ready", "ready"]
    item.refresh_from_db()
    assert item.status == MediaItem.Status.READY
    assert item.attempts == 1  # one worker recorded it, the other saw "ready"
    root = Path(settings.MEDIA_ROOT)
    listed = {root / r["file"] for r in item.renditions}
    # No renamed duplicates: exactly the listed files and the original.
    assert set(stored_files(root)) == listed | {root / item.original}
    first_state = (item.renditions, item.file.name)
    # Running it again changes nothing.
    MediaItem.objects.filter(pk=item.pk).update(status=MediaItem.Status.PENDING)
    assert media_tasks.renditions_make(item_id=item.pk) == "ready"
    item.refresh_from_db()
    assert (item.renditions, item.file.name) == first_state
    assert set(stored_files(root)) == listed | {root / item.original}


def test_failed_renditions_are_retried_by_the_periodic_task(client, author, settings):
    item = _pending_item(client, author, settings, "retry.jpg")
    original = Path(settings.MEDIA_ROOT) / item.original
    data = original.read_bytes()
    original.unlink()  # the store lost it for a while
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    result = media_tasks.make_media_renditions.enqueue(item.pk)
    assert result.status == "FAILED"
    item.refresh_from_db()
    assert (item.status, item.attempts) == (MediaItem.Status.FAILED, 1)
    assert "FileNotFoundError" in item.status_detail
    original.write_bytes(data)
    retried = media_tasks.retry_failed_renditions.enqueue()
    assert retried.return_value == 1
    item.refresh_from_db()
    assert item.status == MediaItem.Status.READY
    assert media_tasks.retry_failed_renditions.enqueue().return_value == 0


def test_an_item_out_of_attempts_is_left_alone(client, author, settings):
    item = _pending_item(client, author, settings, "tired.jpg")
    MediaItem.objects.filter(pk=item.pk).update(status=MediaItem.Status.FAILED, attempts=3)
    assert media_tasks.renditions_retry() == 0
