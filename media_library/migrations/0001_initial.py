"""media_library's models were born in the blog app: they move here without a new table.

State only (SeparateDatabaseAndState): the tables keep their names (Meta.db_table),
and the content types move with their permissions, so roles and grants stay.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from webtier.migration_tools import move_content_types

MODELS = ('mediaitem',)


def content_types_to_media_library(apps, schema_editor):
    move_content_types(apps, "blog", "media_library", MODELS)


def content_types_to_blog(apps, schema_editor):
    move_content_types(apps, "media_library", "blog", MODELS)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('blog', '0006_task_outbox'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='MediaItem',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('file', models.FileField(blank=True, editable=False, max_length=255, upload_to='%Y/%m/')),
                        ('original', models.CharField(blank=True, editable=False, max_length=255)),
                        ('store', models.CharField(choices=[('local', 'Local disk'), ('efs', 'EFS'), ('ebs', 'EBS'), ('s3', 'S3')], default='local', editable=False, max_length=10)),
                        ('title', models.CharField(blank=True, max_length=200)),
                        ('alt_text', models.CharField(blank=True, help_text='Describe the image for people who cannot see it.', max_length=300)),
                        ('caption', models.TextField(blank=True)),
                        ('mime_type', models.CharField(blank=True, editable=False, max_length=100)),
                        ('width', models.PositiveIntegerField(blank=True, editable=False, null=True)),
                        ('height', models.PositiveIntegerField(blank=True, editable=False, null=True)),
                        ('byte_size', models.PositiveBigIntegerField(default=0, editable=False)),
                        ('sha256', models.CharField(blank=True, editable=False, max_length=64)),
                        ('renditions', models.JSONField(blank=True, default=list, editable=False)),
                        ('status', models.CharField(choices=[('pending', 'Renditions pending'), ('ready', 'Ready'), ('failed', 'Renditions failed')], default='pending', editable=False, max_length=10)),
                        ('status_detail', models.TextField(blank=True, editable=False)),
                        ('attempts', models.PositiveSmallIntegerField(default=0, editable=False)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'media item',
                        'db_table': 'blog_mediaitem',
                        'ordering': ['-created_at', '-id'],
                        'get_latest_by': 'created_at',
                        'indexes': [models.Index(fields=['status', 'created_at'], name='media_status_idx')],
                        'constraints': [models.UniqueConstraint(fields=('uploaded_by', 'sha256'), name='media_unique_upload')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_media_library, content_types_to_blog),
    ]
