from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wordpress", "0003_application_passwords"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
