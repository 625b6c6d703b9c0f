"""The wordpress app starts with no tables; the import bookkeeping and the API's
application passwords come in the migrations after this one."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True

    dependencies = [("blog", "0007_models_move_to_their_apps")]

    operations = []
