"""webtier's models were born in the blog app: they move here without a new table.

State only (SeparateDatabaseAndState): the tables keep their names (Meta.db_table),
and the content types move with their permissions, so roles and grants stay.
"""

from django.db import migrations, models

from webtier.migration_tools import move_content_types

MODELS = ('cacheepoch',)


def content_types_to_webtier(apps, schema_editor):
    move_content_types(apps, "blog", "webtier", MODELS)


def content_types_to_blog(apps, schema_editor):
    move_content_types(apps, "webtier", "blog", MODELS)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('blog', '0006_task_outbox'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CacheEpoch',
                    fields=[
                        ('name', models.CharField(max_length=50, primary_key=True, serialize=False)),
                        ('value', models.BigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'blog_cacheepoch',
                        'ordering': ['name'],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_webtier, content_types_to_blog),
    ]
