"""Room for sealed webhook secrets (`enc1:` + base64url is ~110 characters for a whsec_ value).
The values themselves are sealed by `hadar.migrate`'s seal step, which runs after every schema
migration and also catches rows written in plaintext by an older release."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("hadar", "0002_webhooks")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="WebhookEndpoint",
            name="previous_secret",
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AlterField(
            model_name="WebhookEndpoint",
            name="secret",
            field=fields.CharField(max_length=255),
        ),
    ]
