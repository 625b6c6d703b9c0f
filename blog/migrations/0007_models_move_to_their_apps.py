"""The web tier's, the worker tier's and the media library's models leave the blog app.

State only: every table stays where it is (the new apps' 0001 migrations take the models
over with Meta.db_table, and their content types with their permissions). Post's link
to the media items it shows becomes a field of Post, on the same table
(`blog_mediaitem_posts`, columns `post_id` and `mediaitem_id` either way). Then the
roles are put in line with blog/roles.py, strictly: every permission they name now exists.
"""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models


def sync_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from blog.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('blog', '0006_task_outbox'),
        ('media_library', '0001_initial'),
        ('webtier', '0001_initial'),
        ('worker', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='CacheEpoch',
                ),
                migrations.RemoveField(
                    model_name='mediaitem',
                    name='posts',
                ),
                migrations.RemoveField(
                    model_name='mediaitem',
                    name='uploaded_by',
                ),
                migrations.AlterField(
                    model_name='post',
                    name='featured_image',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='featured_in', to='media_library.mediaitem'),
                ),
                migrations.DeleteModel(
                    name='OutboxMessage',
                ),
                migrations.DeleteModel(
                    name='TaskRun',
                ),
                migrations.AddField(
                    model_name='post',
                    name='media_items',
                    field=models.ManyToManyField(blank=True, db_table='blog_mediaitem_posts', editable=False, related_name='posts', to='media_library.mediaitem'),
                ),
                migrations.DeleteModel(
                    name='MediaItem',
                ),
            ],
        ),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
