"""Full-text search: the search entries, their index (MariaDB FULLTEXT or SQLite FTS5), and
an entry for every post already published or scheduled (README, "Search")."""

from django.db import migrations, models

from blog.searchtext import indexed_text

_FTS5 = [
    # External content: the words live in blog_searchentry, FTS5 keeps only its index,
    # and these triggers keep that index in step with the rows (SQLite's documented way).
    "CREATE VIRTUAL TABLE blog_searchentry_fts USING fts5(title, text,"
    " content='blog_searchentry', content_rowid='post_id',"
    " tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER blog_searchentry_ai AFTER INSERT ON blog_searchentry BEGIN"
    " INSERT INTO blog_searchentry_fts(rowid, title, text)"
    " VALUES (new.post_id, new.title, new.text); END",
    "CREATE TRIGGER blog_searchentry_ad AFTER DELETE ON blog_searchentry BEGIN"
    " INSERT INTO blog_searchentry_fts(blog_searchentry_fts, rowid, title, text)"
    " VALUES ('delete', old.post_id, old.title, old.text); END",
    "CREATE TRIGGER blog_searchentry_au AFTER UPDATE ON blog_searchentry BEGIN"
    " INSERT INTO blog_searchentry_fts(blog_searchentry_fts, rowid, title, text)"
    " VALUES ('delete', old.post_id, old.title, old.text);"
    " INSERT INTO blog_searchentry_fts(rowid, title, text)"
    " VALUES (new.post_id, new.title, new.text); END",
]
_FTS5_DROP = [
    "DROP TRIGGER IF EXISTS blog_searchentry_au",
    "DROP TRIGGER IF EXISTS blog_searchentry_ad",
    "DROP TRIGGER IF EXISTS blog_searchentry_ai",
    "DROP TABLE IF EXISTS blog_searchentry_fts",
]
# One index per column list a MATCH names: the title alone ranks title hits first.
_FULLTEXT = [
    "ALTER TABLE blog_searchentry ADD FULLTEXT INDEX search_title_ft (title)",
    "ALTER TABLE blog_searchentry ADD FULLTEXT INDEX search_all_ft (title, text)",
]
_FULLTEXT_DROP = [
    "ALTER TABLE blog_searchentry DROP INDEX search_all_ft",
    "ALTER TABLE blog_searchentry DROP INDEX search_title_ft",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def add_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, _FULLTEXT if vendor == "mysql" else _FTS5 if vendor == "sqlite" else [])


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(
        schema_editor,
        _FULLTEXT_DROP if vendor == "mysql" else _FTS5_DROP if vendor == "sqlite" else [],
    )


def fill(apps, schema_editor):
    """An entry for each published or scheduled post, a thousand at a time."""
    Post = apps.get_model("blog", "Post")
    SearchEntry = apps.get_model("blog", "SearchEntry")
    posts = Post.objects.filter(status__in=["publish", "future"], published_at__isnull=False)
    fields = ("id", "kind", "published_at", "title", "body_html", "excerpt", "password")
    last = 0
    while True:
        batch = list(posts.filter(pk__gt=last).order_by("pk").only(*fields)[:1000])
        if not batch:
            return
        SearchEntry.objects.bulk_create(
            SearchEntry(
                post_id=p.pk,
                kind=p.kind,
                published_at=p.published_at,
                title=p.title,
                text=indexed_text(body_html=p.body_html, excerpt=p.excerpt, password=p.password),
            )
            for p in batch
        )
        last = batch[-1].pk


class Migration(migrations.Migration):

    dependencies = [
        ("blog", "0010_post_listing_indexes_scale"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                (
                    "post",
                    models.OneToOneField(
                        on_delete=models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_entry",
                        serialize=False,
                        to="blog.post",
                    ),
                ),
                ("kind", models.CharField(choices=[("post", "Post"), ("page", "Page")], max_length=10)),
                ("published_at", models.DateTimeField()),
                ("title", models.CharField(max_length=300)),
                ("text", models.TextField(blank=True)),
            ],
            options={
                "verbose_name_plural": "search entries",
                "ordering": ["-published_at", "-post_id"],
                "get_latest_by": "published_at",
            },
        ),
        # MariaDB cannot roll DDL back, so Django refuses it inside a transaction.
        migrations.RunPython(add_index, drop_index, atomic=False),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
