"""Application passwords for the REST API (wordpress/app_passwords.py).

Numbered 0003 after the import's 0002, built in parallel; it depends only on 0001.
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wordpress", "0002_import_bookkeeping"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApplicationPassword",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("name", models.CharField(max_length=200)),
                ("password_hash", models.CharField(editable=False, max_length=100)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("last_ip", models.GenericIPAddressField(blank=True, editable=False, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="application_passwords",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "application password",
                "ordering": ["-created_at", "-id"],
                "get_latest_by": "created_at",
                "constraints": [
                    models.UniqueConstraint(fields=("user", "name"), name="app_password_unique_name")
                ],
            },
        ),
    ]
