"""The admin page: an administrator uploads an export (and a zip of uploads), the import runs
as a task, and the page shows its progress and report, also after a refresh."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from blog.models import Post
from media_library.models import MediaItem
from tests.wordpress.conftest import wxr
from tests.wordpress.test_import_media import attachment, export, jpeg, post_with_images
from wordpress.models import ImportRun
from wordpress.tasks import extract_uploads, progress_key

pytestmark = pytest.mark.django_db

ADD = reverse("admin:wordpress_importrun_add")


def _upload(client, path, **fields):
    data = {"export": SimpleUploadedFile(path.name, path.read_bytes()), "role": "Author", **fields}
    return client.post(ADD, data)


def test_an_administrator_imports_from_the_admin_and_reads_the_report(
    client, importer, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    assert client.get(ADD).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, wxr("small-export.xml"), permalink_structure="/%postname%/")
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("admin:wordpress_importrun_change", args=[run.pk])
    assert run.status == ImportRun.Status.DONE
    assert Post.objects.count() == 11
    assert run.site.permalink_structure == "/%postname%/"
    page = client.get(response["Location"]).content.decode()  # a refresh, any instance
    assert "Done" in page and "<td>30</td>" in page  # 30 categories created
    assert 'http-equiv="refresh"' not in page
    assert not run.stored_file or not _stored(run.stored_file)  # the upload is cleaned up


def _stored(name):
    from django.core.files.storage import default_storage

    return default_storage.exists(name)


def test_a_queued_or_running_import_page_follows_it(client, importer):
    client.force_login(importer)
    run = ImportRun.objects.create(
        file_name="big.xml", status=ImportRun.Status.RUNNING, created_by=importer
    )
    cache.set(progress_key(run.pk), {"done": 50, "total": 200, "rate": 120, "phase": "posts"})
    page = client.get(reverse("admin:wordpress_importrun_change", args=[run.pk])).content.decode()
    assert 'http-equiv="refresh"' in page
    assert "50 of 200 records" in page and 'value="25"' in page
    cache.clear()  # the cache restarted: the row still has the last progress it wrote
    ImportRun.objects.filter(pk=run.pk).update(progress={"done": 60, "total": 200})
    page = client.get(reverse("admin:wordpress_importrun_change", args=[run.pk])).content.decode()
    assert "60 of 200 records" in page


def test_a_zip_of_uploads_brings_the_images(
    client, importer, tmp_path, django_capture_on_commit_callbacks
):
    site = tmp_path / "site.xml"
    site.write_text(export(attachment(10, "2020/01/photo.jpg", parent=20), post_with_images()))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("wp-content/uploads/2020/01/photo.jpg", jpeg())
    client.force_login(importer)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, site, uploads=SimpleUploadedFile("uploads.zip", archive.getvalue()))
    assert ImportRun.objects.get().status == ImportRun.Status.DONE
    assert Post.objects.get().featured_image == MediaItem.objects.get()


def test_a_bad_file_is_refused_on_the_page(client, importer, django_capture_on_commit_callbacks):
    client.force_login(importer)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, wxr("missing-version-tag.xml"))
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.REFUSED
    assert "no <wp:wxr_version>" in run.error
    assert "Refused" in client.get(response["Location"]).content.decode()
    assert not Post.objects.exists()


def test_a_zip_that_climbs_out_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../etc/cron.d/evil", "* * * * * root true")
    with pytest.raises(Exception, match="outside itself"):
        extract_uploads(archive, tmp_path / "out")
    assert not (tmp_path.parent / "etc").exists()


def test_only_administrators_see_the_import(client, editor):
    client.force_login(editor)
    assert client.get(ADD).status_code in (302, 403)
    assert client.get(reverse("admin:wordpress_importrun_changelist")).status_code == 403


def test_an_administrator_downloads_the_site_as_wxr(client, importer, author):
    from tests.factories import make_post

    make_post(author, title="Exported post", slug="exported-post")
    client.force_login(importer)
    listing = client.get(reverse("admin:wordpress_importrun_changelist")).content.decode()
    assert reverse("admin:wordpress_export") in listing
    response = client.get(reverse("admin:wordpress_export"))
    assert response.status_code == 200
    assert "attachment;" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert "<wp:wxr_version>1.2</wp:wxr_version>" in body
    assert "<wp:post_name>exported-post</wp:post_name>" in body


def test_an_editor_cannot_download_the_site(client, editor):
    client.force_login(editor)
    assert client.get(reverse("admin:wordpress_export")).status_code == 403


def _stored_export(path) -> str:
    from django.core.files.storage import default_storage

    from wordpress.admin import PRIVATE

    with path.open("rb") as handle:
        return default_storage.save(f"{PRIVATE}stalled.xml", handle)


def test_an_import_whose_worker_died_shows_stopped_and_resumes_where_it_stopped(
    client, importer, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    from wordpress.importer import Options
    from wordpress.services import wxr_import

    calls = []

    def killed_after_two_batches(report, phase):
        calls.append(phase)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what committed before the kill stays

    wxr_import(
        source=str(wxr("small-export.xml")),
        by=importer,
        options=Options(batch_size=5),
        progress=killed_after_two_batches,
    )
    partial = Post.objects.count()
    # The row a kill -9 leaves: still "running", its last heartbeat ten minutes old.
    run = ImportRun.objects.create(
        file_name="small-export.xml",
        stored_file=_stored_export(wxr("small-export.xml")),
        status=ImportRun.Status.RUNNING,
        created_by=importer,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=10),
    )
    client.force_login(importer)
    url = reverse("admin:wordpress_importrun_change", args=[run.pk])
    page = client.get(url).content.decode()
    assert "Stopped — resume" in page
    assert 'http-equiv="refresh"' not in page  # nothing moves until someone resumes
    resume = reverse("admin:wordpress_importrun_resume", args=[run.pk])
    assert f'action="{resume}"' in page
    listing = client.get(reverse("admin:wordpress_importrun_changelist")).content.decode()
    assert "Stopped — resume" in listing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resume)

    assert response["Location"] == url
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE, run.report
    assert partial < Post.objects.count() == 11
    counts = run.report["counts"]
    assert counts["post"]["created"] + counts["page"]["created"] == 11 - partial  # no doubles
    assert counts["category"]["skipped"] > 0  # those in before the kill
    page = client.get(url).content.decode()
    assert "Stopped" not in page and "Done" in page


def test_a_running_import_with_a_recent_heartbeat_is_not_offered_a_resume(client, importer):
    from django.utils import timezone

    run = ImportRun.objects.create(
        file_name="big.xml",
        stored_file="private/wordpress-imports/big.xml",
        status=ImportRun.Status.RUNNING,
        created_by=importer,
        heartbeat_at=timezone.now(),
    )
    client.force_login(importer)
    page = client.get(reverse("admin:wordpress_importrun_change", args=[run.pk])).content.decode()
    assert "Stopped" not in page and 'http-equiv="refresh"' in page
    client.post(reverse("admin:wordpress_importrun_resume", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING


def test_the_worker_writes_a_heartbeat_as_it_goes(
    client, importer, django_capture_on_commit_callbacks
):
    client.force_login(importer)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, wxr("small-export.xml"))
    run = ImportRun.objects.get()
    assert run.heartbeat_at is not None and run.started_at <= run.heartbeat_at
