import django.utils.timezone
from django.contrib.auth.management import create_permissions
from django.db import migrations, models


def give_administrators_the_task_runs(apps, schema_editor):
    # Permissions are normally created after all migrations; the Administrator role
    # ("every permission") must include viewing task runs from this release on.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from blog.roles import sync_roles

    sync_roles(apps, missing_ok=True)


class Migration(migrations.Migration):

    dependencies = [
        ('blog', '0003_cache_epoch'),
    ]

    operations = [
        migrations.CreateModel(
            name='TaskRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('message_id', models.CharField(max_length=128, unique=True)),
                ('task_id', models.CharField(blank=True, max_length=64)),
                ('task_path', models.CharField(blank=True, max_length=255)),
                ('periodic_name', models.CharField(blank=True, max_length=100)),
                ('source', models.CharField(help_text='endpoint (sqsd) or run_worker', max_length=20)),
                ('state', models.CharField(choices=[('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed (will be retried)'), ('rejected', 'Rejected')], default='running', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('duration_ms', models.PositiveIntegerField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['-started_at', '-id'],
                'get_latest_by': 'started_at',
                'indexes': [models.Index(fields=['state', 'started_at'], name='taskrun_state_idx')],
            },
        ),
        migrations.RunPython(give_administrators_the_task_runs, migrations.RunPython.noop),
    ]
