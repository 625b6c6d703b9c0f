"""Administrators see and clear login lockouts: the role gets django-axes' permissions,
which did not exist when the roles were last synced (README, "Login throttling")."""

from importlib import import_module

from django.db import migrations

_moved = import_module("blog.migrations.0007_models_move_to_their_apps")


class Migration(migrations.Migration):

    dependencies = [
        ("blog", "0008_autosave_editlock"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [
        # The same step as 0007's last one: make the permissions now, then sync the roles.
        migrations.RunPython(_moved.sync_roles, migrations.RunPython.noop),
    ]
