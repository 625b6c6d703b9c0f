"""Search postings: each word's posts in order of impact, and each word's count of posts
(README, "Search"), filled from the posts by the search rebuild."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    # The rebuild itself (blog/services/search.py), so the migration and `search_rebuild`
    # cannot drift apart; it reads and writes only tables that exist at this point.
    from blog.services.search import search_entries_rebuild

    search_entries_rebuild()


class Migration(migrations.Migration):

    dependencies = [
        ("blog", "0013_site_settings_api"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("term", models.CharField(max_length=84, primary_key=True, serialize=False)),
                ("entries", models.PositiveIntegerField(default=0)),
            ],
            options={"ordering": ["term"]},
        ),
        migrations.CreateModel(
            name="SearchPosting",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "term", "impact", "published_at", "post", blank=True, editable=False, primary_key=True,
                        serialize=False,
                    ),
                ),
                ("term", models.CharField(max_length=84)),
                ("impact", models.PositiveIntegerField()),
                ("published_at", models.DateTimeField()),
                (
                    "post",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="blog.searchentry",
                    ),
                ),
                (
                    "kind",
                    models.CharField(choices=[("post", "Post"), ("page", "Page")], max_length=10),
                ),
            ],
            options={
                "ordering": ["term", "-impact", "-published_at", "-post"],
                "indexes": [
                    models.Index(fields=["post", "term"], name="search_posting_post_term")
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
