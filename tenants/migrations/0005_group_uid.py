"""Groups get a stable public identifier (a random UUID), filled in for existing rows one by one."""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    Group = apps.get_model("tenants", "Group")
    for group in Group.objects.filter(uid__isnull=True).only("pk"):
        Group.objects.filter(pk=group.pk).update(uid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_user_external_id")]

    operations = [
        migrations.AddField(model_name="group", name="uid", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="group", name="uid",
            field=models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
        ),
    ]
