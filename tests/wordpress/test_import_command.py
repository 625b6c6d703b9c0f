"""`manage.py wordpress_import`: WordPress's own importer expectations for small-export.xml,
idempotence, dry runs, refusals and the report."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from blog.models import Category, Comment, Post, Tag
from tests.wordpress.conftest import run_import, wxr
from wordpress.models import ImportedItem, ImportRun

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        get_user_model().objects.count(),
        Category.objects.count(),
        Tag.objects.count(),
        Post.objects.count(),
        Comment.objects.count(),
        ImportedItem.objects.count(),
    )


def test_small_export_imports_as_wordpress_importer_expects(importer):
    result = run_import(wxr("small-export.xml"))
    assert result.code == 0, result.out + result.err
    User = get_user_model()
    assert set(User.objects.exclude(pk=importer.pk).values_list("username", flat=True)) == {
        "admin",
        "editor",
        "author",
    }
    editor = User.objects.get(username="editor")
    assert (editor.first_name, editor.last_name) == ("FirstName", "LastName")
    assert not editor.has_usable_password()
    assert editor.groups.filter(name="Author").exists()

    assert Category.objects.count() == 30
    assert Category.objects.get(slug="foo-bar").parent.slug == "bar"
    assert Category.objects.get(slug="eternity").name == "远征手记"
    assert Tag.objects.count() == 3

    posts = Post.objects.posts()
    assert posts.filter(status=Post.Status.PUBLISHED).count() == 5
    assert posts.filter(status=Post.Status.PRIVATE).count() == 1
    pages = Post.objects.pages()
    assert pages.filter(status=Post.Status.PUBLISHED).count() == 4
    assert pages.filter(status=Post.Status.DRAFT).count() == 1
    assert Comment.objects.count() == 1

    many = Post.objects.get(title="Many Categories")
    assert many.categories.count() == 27
    child = Post.objects.get(title="Child Page")
    assert child.parent.title == "Parent Page"
    assert child.path == "parent-page/child-page"

    hello = Post.objects.get(slug="hello-world")
    assert hello.author.username == "author"
    assert hello.published_at.isoformat() == "2011-01-18T07:40:14+00:00"
    comment = hello.comments.get()
    assert comment.author_name == "Mr WordPress" and comment.status == Comment.Status.APPROVED
    assert hello.comment_count == 1
    # WordPress's post format is kept with the import's bookkeeping.
    aside = ImportedItem.objects.get(post__title="Non-standard post format")
    assert aside.meta["format"] == "aside"


def test_classic_content_gets_wordpress_paragraphs(importer):
    run_import(wxr("small-export.xml"))
    sample = Post.objects.get(slug="sample-page")
    assert sample.body_html.startswith("<p>This is an example page.")
    assert "<blockquote><p>Hi there!" in sample.body_html
    assert sample.body_html.count("<p>") == 5


def test_importing_twice_adds_nothing(importer):
    first = run_import(wxr("small-export.xml"))
    before = _snapshot()
    second = run_import(wxr("small-export.xml"))
    assert second.code == 0
    assert _snapshot() == before
    assert "created" in first.out
    created_column = [line.split()[1] for line in second.out.splitlines()[1:7]]
    assert set(created_column) == {"0"}, second.out


def test_a_dry_run_reports_and_writes_nothing(importer):
    before = _snapshot()
    result = run_import(wxr("small-export.xml"), "--dry-run")
    assert result.code == 0
    assert "Dry run" in result.out
    assert "post" in result.out and "30" in result.out  # what would happen
    assert _snapshot() == before


@pytest.mark.parametrize(
    "name",
    ["malformed.xml", "malformed-simple.xml", "missing-version-tag.xml",
     "invalid-version-tag.xml", "10MB.xml"],
)  # fmt: skip
def test_a_bad_file_is_refused_and_changes_nothing(importer, name):
    from django.core.management.base import CommandError

    before = _snapshot()
    with pytest.raises(CommandError) as refused:
        run_import(wxr(name))
    assert "Nothing was imported" in str(refused.value)
    assert refused.value.returncode == 2
    assert _snapshot() == before
    assert ImportRun.objects.get().status == ImportRun.Status.REFUSED


def test_progress_goes_to_stderr_and_the_run_is_recorded(importer):
    result = run_import(wxr("small-export.xml"), "--batch-size", "5")
    assert "items/s" in result.err
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.DONE
    assert run.report["counts"]["post"]["created"] == 6


def test_an_author_map_merges_accounts(importer, editor, tmp_path):
    mapping = tmp_path / "authors.csv"
    mapping.write_text("old_login,new,role\nauthor,edith,\n")
    run_import(wxr("small-export.xml"), "--authors", str(mapping))
    assert Post.objects.get(slug="hello-world").author == editor
    assert not get_user_model().objects.filter(username="author").exists()


def test_new_authors_get_the_role_asked_for(importer):
    run_import(wxr("small-export.xml"), "--role", "contributor")
    assert get_user_model().objects.get(username="editor").groups.get().name == "Contributor"


def test_only_an_administrator_may_import(author):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="administrator"):
        run_import(wxr("small-export.xml"), user=author.username)
    assert not Post.objects.exists()


def test_failures_are_listed_and_make_the_exit_code_non_zero(importer, tmp_path):
    broken = tmp_path / "one-bad.xml"
    # A page that is its own parent's parent cannot be placed: the rest still imports.
    broken.write_text(
        '<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<wp:wxr_version>1.2</wp:wxr_version>"
        "<item><title>Good</title><wp:post_id>1</wp:post_id><wp:post_type>post</wp:post_type>"
        "<wp:status>publish</wp:status><content:encoded>Fine</content:encoded></item>"
        "<item><title>Bad</title><wp:post_id>2</wp:post_id><wp:post_type>post</wp:post_type>"
        "<wp:status>publish</wp:status><wp:post_date_gmt>2011-01-01 00:00:00</wp:post_date_gmt>"
        f"<content:encoded>{'x' * 10}</content:encoded><wp:post_name>{'s' * 300}</wp:post_name>"
        "<wp:post_password>pw</wp:post_password><wp:menu_order>99999999999</wp:menu_order>"
        "</item></channel></rss>"
    )
    result = run_import(broken)
    assert result.code == 1
    assert "FAILED post 2 'Bad'" in result.out
    assert Post.objects.get().title == "Good"


def test_an_interrupted_import_continues_where_it_stopped(importer):
    from wordpress.importer import Options
    from wordpress.services import wxr_import

    calls = []

    def ctrl_c_after_two_batches(report, phase):
        calls.append(phase)
        if len(calls) == 2:
            raise KeyboardInterrupt

    first = wxr_import(
        source=str(wxr("small-export.xml")),
        by=importer,
        options=Options(batch_size=5),
        progress=ctrl_c_after_two_batches,
    )
    assert first.interrupted
    partial = _snapshot()
    assert 0 < partial[1] < 30  # some categories are in, not all

    result = run_import(wxr("small-export.xml"))
    assert result.code == 0
    assert Category.objects.count() == 30 and Post.objects.count() == 11
    assert Category.objects.get(slug="foo-bar").parent.slug == "bar"
    assert Comment.objects.count() == 1
    assert ImportedItem.objects.values("kind", "wp_id").distinct().count() == (
        ImportedItem.objects.count()
    )


def _corpus_files() -> list[str]:
    from tests.conftest import CORPORA

    folder = CORPORA / "wxr"
    return sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.xml")) or ["(absent)"]


@pytest.mark.parametrize("name", _corpus_files())
def test_every_corpus_file_is_imported_or_refused_with_a_message(importer, name):
    from django.core.management.base import CommandError

    from tests.conftest import corpus

    path = corpus("wxr", *name.split("/"))
    try:
        result = run_import(path)
    except CommandError as refused:
        assert "Nothing was imported" in str(refused) and refused.returncode == 2
        assert not Post.objects.exists()
        return
    assert result.code == 0, result.out  # no record failed
    assert "records in" in result.out
