"""worker's models were born in the blog app: they move here without a new table.

State only (SeparateDatabaseAndState): the tables keep their names (Meta.db_table),
and the content types move with their permissions, so roles and grants stay.
"""

import django.utils.timezone
from django.db import migrations, models

from webtier.migration_tools import move_content_types

MODELS = ('outboxmessage', 'taskrun')


def content_types_to_worker(apps, schema_editor):
    move_content_types(apps, "blog", "worker", MODELS)


def content_types_to_blog(apps, schema_editor):
    move_content_types(apps, "worker", "blog", MODELS)


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
                    name='OutboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('task_id', models.CharField(max_length=64, unique=True)),
                        ('task_path', models.CharField(max_length=255)),
                        ('queue_url', models.CharField(max_length=1024)),
                        ('body', models.TextField()),
                        ('attributes', models.JSONField(default=dict, help_text='SQS MessageAttributes')),
                        ('group_id', models.CharField(blank=True, help_text='FIFO MessageGroupId', max_length=128)),
                        ('deduplication_id', models.CharField(blank=True, max_length=128)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('attempts', models.PositiveIntegerField(default=0, help_text='failed sends so far')),
                        ('last_error', models.TextField(blank=True)),
                    ],
                    options={
                        'db_table': 'blog_outboxmessage',
                        'ordering': ['created_at', 'id'],
                        'get_latest_by': 'created_at',
                    },
                ),
                migrations.CreateModel(
                    name='TaskRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('message_id', models.CharField(max_length=128, unique=True)),
                        ('task_id', models.CharField(blank=True, max_length=64, null=True, unique=True)),
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
                        'db_table': 'blog_taskrun',
                        'ordering': ['-started_at', '-id'],
                        'get_latest_by': 'started_at',
                        'indexes': [models.Index(fields=['state', 'started_at'], name='taskrun_state_idx')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_worker, content_types_to_blog),
    ]
