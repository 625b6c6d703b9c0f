"""The door to a WordPress import: `wxr_import` (the command, the admin's task and the tests
all call it). How a run goes is told in wordpress/importer.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import IO

from django.core.exceptions import PermissionDenied
from django.db import reset_queries, transaction
from django.utils import timezone

from wordpress import wxr
from wordpress.import_batch import import_batch
from wordpress.import_media import Ahead, import_attachment, load_media_maps
from wordpress.import_posts import content_site, link_page_parents
from wordpress.importer import (
    REQUIRED_PERMS,
    Options,
    Report,
    State,
    batches,
    import_author,
    import_term,
    link_category_parents,
    load_known,
    now,
    step,
)
from wordpress.models import ImportRun, OldSite

logger = logging.getLogger(__name__)

BEAT_SECONDS = 1.0


def _site_for(info: wxr.Site, options: Options) -> OldSite:
    # Exports always name their site; hand-made files may not: their title keeps two of
    # them apart, so one does not pass for an earlier run of the other.
    url = (info.base_site_url or info.link or f"untitled:{info.title}").rstrip("/")[:255]
    site, _ = OldSite.objects.get_or_create(url=url, defaults={"title": info.title[:300]})
    if options.permalink_structure and site.permalink_structure != options.permalink_structure:
        site.permalink_structure = options.permalink_structure[:200]
        site.save(update_fields=["permalink_structure"])
    return site


def _pass(
    state: State, source, handle: Callable, total_label: str, *, whole=None, before=None
) -> None:
    """One read of the file, records in batches of one transaction each (`handle` takes a
    record, `whole` a batch; `before` sees each batch first)."""
    records = wxr.read(source)
    next(records)  # the Site, already known
    last = now()
    for batch in batches(records, state.options.batch_size):
        if before is not None:
            before(batch)
        with transaction.atomic():
            if whole is not None:
                whole(batch)
            for record in batch if whole is None else ():
                handle(record)
                if now() - last > BEAT_SECONDS:
                    # A slow batch (images fetched one by one) still shows it is alive.
                    state.progress(state.report, total_label)
                    last = now()
        state.progress(state.report, total_label)
        last = now()
        # With DJANGO_DEBUG on (make run), Django keeps the SQL of the last 9,000 queries;
        # a batch's inserts carry a hundred posts each, so that log alone grew with the file.
        reset_queries()


def _first_pass(state: State, ahead: Ahead | None):
    def handle(record) -> None:
        report = state.report
        if isinstance(record, wxr.Author):
            step(state, "author", record.wp_id, record.login, lambda: import_author(state, record))
            report.done += 1
        elif isinstance(record, wxr.Term):
            step(state, "term", record.wp_id, record.name, lambda: import_term(state, record))
            report.done += 1
        elif isinstance(record, wxr.Item) and record.type == "attachment":
            import_attachment(state, record, ahead)
            report.done += 1 + len(record.comments)  # an attachment's comments are not kept

    return handle


def wxr_import(
    *,
    source: str | IO[bytes],
    by,
    options: Options | None = None,
    progress: Callable[[Report, str], None] | None = None,
    run: ImportRun | None = None,
) -> Report:
    """Import a WXR file (a path, or a binary file that can be read more than once).

    Raises PermissionDenied when `by` may not import; a file that cannot be imported is
    not an exception but a report with `refused` set (and nothing written).
    """
    options = options or Options()
    if not all(by.has_perm(p) for p in REQUIRED_PERMS):
        raise PermissionDenied("Only an administrator may import a WordPress site.")
    report = Report()
    started = now()

    def rewind():
        if hasattr(source, "seek"):
            source.seek(0)
        return source

    try:
        counts = wxr.scan(rewind())
    except wxr.WXRError as exc:
        report.refused = str(exc)
        return report
    report.total = sum(counts.values())
    records = wxr.read(rewind())
    info = next(records)
    records.close()

    def tick(report: Report, phase: str) -> None:
        report.seconds = now() - started
        if progress:
            progress(report, phase)

    def start() -> None:
        site = _site_for(info, options)
        if run is not None and not options.dry_run:
            ImportRun.objects.filter(pk=run.pk).update(site=site)
        state = State(by=by, site=site, info=info, options=options, report=report, progress=tick)
        _run(state, rewind)

    try:
        if options.dry_run:
            with transaction.atomic():
                start()
                transaction.set_rollback(True)
        else:
            start()
    except KeyboardInterrupt:
        # What committed stays; a rerun skips it and continues.
        report.interrupted = True
    finally:
        report.seconds = now() - started
        logger.info(
            "wxr import: %s of %s records in %.1fs, %s failed",
            report.done,
            report.total,
            report.seconds,
            report.failed,
        )
    return report


def _run(state: State, rewind) -> None:
    load_known(state)
    # A dry run stores no file: nothing to process ahead.
    ahead = None if state.options.dry_run else Ahead(state)
    try:
        _pass(
            state,
            rewind(),
            _first_pass(state, ahead),
            "authors, terms and media",
            before=ahead and ahead.add,
        )
    finally:
        if ahead is not None:
            ahead.close()
    with transaction.atomic():
        link_category_parents(state)
    load_media_maps(state)
    state.content_site = content_site(state)
    _pass(
        state,
        rewind(),
        None,
        "posts, pages and comments",
        whole=lambda batch: import_batch(state, batch),
    )
    with transaction.atomic():
        link_page_parents(state)


def run_finish(run: ImportRun, report: Report) -> None:
    """Record the outcome of an admin or command run."""
    if report.refused:
        run.status = ImportRun.Status.REFUSED
        run.error = report.refused
    elif report.interrupted:
        run.status = ImportRun.Status.INTERRUPTED
    else:
        run.status = ImportRun.Status.FAILED if report.failed else ImportRun.Status.DONE
    run.report = report.as_dict()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "report", "finished_at"])
