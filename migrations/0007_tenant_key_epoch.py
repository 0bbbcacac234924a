"""A tenant's key epoch: bumped in the same transaction as any change to one of its keys
(revocation, allow-list) or to its limits, so an instance that cached a verified key sees on
the very next request that the cache is stale (hadar.platform.keycache). Nullable, so adding
it rewrites no row; NULL reads as 0."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("hadar", "0006_property_match_index")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Tenant",
            name="key_epoch",
            field=fields.BigIntField(null=True),
        ),
    ]
