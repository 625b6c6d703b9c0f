"""Uploads bounded by the work they cost, not only their size (issue 16), through the JSON
upload an author uses: bombs refused from their header, a pipeline stopped mid-step by
the clock or the memory cap, the instance's processing slots, and real photos accepted."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import re
import time
from pathlib import Path

import pytest

from media_library import services as media_services
from media_library.models import MediaItem
from media_store import bounded
from tests.bombs import BOMBS, heavy_png, noise_png
from tests.conftest import corpus
from tests.media_library.test_upload import image_bytes, login, stored_files, upload


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_is_refused_from_its_header_with_a_clear_400(client, author, settings, name):
    make, message = BOMBS[name]
    login(client, author)
    response = upload(client, make(), name)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def _processing_children_still_computing(within: float = 15.0) -> list[int]:
    """Children of the pipeline's forkserver (the pool's processes) still using CPU time
    after `within` seconds. A replacement child spends a moment starting, then waits for
    work; the child of a stopped image, left running, would go on computing."""
    server = multiprocessing.forkserver._forkserver._forkserver_pid
    assert server is not None
    until = time.monotonic() + within
    while True:
        children = [
            int(entry)
            for entry in os.listdir("/proc")
            if entry.isdigit() and _parent(int(entry)) == server
        ]
        before = {pid: _cpu_ticks(pid) for pid in children}
        time.sleep(0.5)
        busy = [
            pid
            for pid in children
            if None not in (before[pid], _cpu_ticks(pid)) and _cpu_ticks(pid) > before[pid]
        ]
        if not busy or time.monotonic() > until:
            return busy


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_processing_past_media_max_seconds_is_stopped_mid_step(client, author, settings):
    settings.MEDIA_MAX_SECONDS = 1
    settings.MEDIA_MAX_MEMORY_MB = 2000  # the clock, not the memory cap, must stop it
    login(client, author)
    response = upload(client, heavy_png(), "heavy.png")
    assert response.status_code == 400
    # The child was killed by the clock; the pipeline's own checks between steps say
    # "took longer than" and never had the chance.
    assert "stopped after 1 seconds" in response.json()["error"]
    assert not MediaItem.objects.exists()
    assert _processing_children_still_computing() == []
    # The next upload gets a fresh child and goes through.
    settings.MEDIA_MAX_SECONDS = 10
    assert upload(client, image_bytes(), "next.jpg").status_code == 201


@pytest.mark.parametrize("make", [heavy_png, noise_png], ids=["grey-36mp-19to1", "rgb-2560-stored"])
def test_a_noise_png_costs_less_than_the_cpu_budget_and_is_accepted_with_no_code_in_any_size(
    client, author, settings, django_capture_on_commit_callbacks, make
):
    # The clock out of the way: only the CPU budget, the same on a busy machine as on a
    # quiet one, decides. Noise is the worst case for the encoders of every size: a 36 MP
    # grey one that passes every header check, and 2560x2560 of RGB noise whose 20 MB PNG
    # renditions hold a chance `<?=` about once each.
    settings.MEDIA_MAX_SECONDS = 300
    login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, make(), "noise.png")
    assert response.status_code == 201, response.content
    item = MediaItem.objects.get()
    assert item.status == MediaItem.Status.READY
    assert len(item.renditions) == 14  # full and six sizes, each with its WebP twin
    full = next(r for r in item.renditions if r["name"] == "full")
    assert (full["width"], full["height"]) == (2560, 2560)
    for rendition in item.renditions:
        data = (Path(settings.MEDIA_ROOT) / rendition["file"]).read_bytes()
        assert not re.search(rb"<\?(?:php|=)", data, re.IGNORECASE), rendition["name"]


def test_processing_past_the_cpu_budget_is_ended_by_the_kernel_with_a_clear_400(
    client, author, settings, caplog
):
    settings.MEDIA_MAX_CPU_SECONDS = 1
    settings.MEDIA_MAX_SECONDS = 300  # the kernel's CPU limit, not the clock, must stop it
    login(client, author)
    with caplog.at_level("WARNING", logger="media_store.bounded"):
        response = upload(client, heavy_png(), "heavy.png")
    assert response.status_code == 400
    assert "stopped after 1 seconds of computing" in response.json()["error"]
    assert "exit code -24" in caplog.text  # SIGXCPU: RLIMIT_CPU, inside the child
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
    assert _processing_children_still_computing() == []
    settings.MEDIA_MAX_CPU_SECONDS = 8
    assert upload(client, image_bytes(), "next.jpg").status_code == 201


def test_an_image_whose_pixels_cannot_fit_the_memory_cap_is_refused_from_its_header(
    client, author, settings
):
    settings.MEDIA_MAX_MEMORY_MB = 50  # 36 megapixels of grey: 36 MB, and 26 MB of "full"
    login(client, author)
    response = upload(client, heavy_png(), "heavy.png")
    assert response.status_code == 400
    assert (
        "too large to process: its 6000x6000 pixels need about 59 MB" in (response.json()["error"])
    )
    assert not MediaItem.objects.exists()


def test_processing_past_the_memory_cap_is_refused_not_a_500(client, author, settings):
    settings.MEDIA_MAX_MEMORY_MB = 40
    login(client, author)
    response = upload(client, image_bytes((3000, 2000)), "big.jpg")
    assert response.status_code == 400
    assert "too large to process" in response.json()["error"]
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def test_uploads_past_the_instances_slots_get_503_with_retry_after(client, author, settings):
    settings.MEDIA_UPLOAD_SLOTS = 2
    directory = media_services._slot_directory()
    login(client, author)
    with bounded.slot(2, directory), bounded.slot(2, directory):
        busy = upload(client, image_bytes(), "busy.jpg")
    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert "try again" in busy.json()["error"]
    assert not MediaItem.objects.exists()
    # A slot held by another process is seen too: an flock, not a counter in memory.
    with bounded.slot(2, directory):
        assert upload(client, image_bytes(), "one-free.jpg").status_code == 201


@pytest.mark.parametrize("name", ["adwaita-6000x4000.jpg", "wood-4096x4096.jpg"])
def test_a_real_photo_is_accepted_with_every_size(
    client, author, name, django_capture_on_commit_callbacks
):
    data = corpus("images", "photos", name).read_bytes()
    login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, data, name)
    assert response.status_code == 201, response.content
    item = MediaItem.objects.get()
    assert item.status == MediaItem.Status.READY
    names = {r["name"] for r in item.renditions}
    assert {"full", "thumbnail", "medium", "large", "2048x2048", "2048x2048-webp"} <= names


def test_a_png_crafted_so_its_pixels_spell_php_is_refused_not_mended(client, author, settings):
    # Its deflated rows spell `<?=$_GET[0]($_POST[1]);?>`: a chance `<?=` in a large
    # rendition is cut apart, but code no chance writes means the file was made for it.
    path = corpus("images", "payloads", "PNG_32x32_resize_bypass_use_LFI.png")
    login(client, author)
    response = upload(client, path.read_bytes(), path.name)
    assert response.status_code == 400, response.content
    assert "program code" in response.json()["error"]
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
