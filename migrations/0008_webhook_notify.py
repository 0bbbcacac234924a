from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

# Written by hand. Workers wake on PostgreSQL NOTIFY rather than waiting for their next poll
# (hadar.webhooks.wakeup): a trigger notifies whenever a delivery becomes claimable now, i.e.
# it is inserted (the outbox, in the emitting transaction, so the wake-up arrives at commit),
# released by a stopping worker, or retried by hand. A failed attempt's later retry does not
# notify (its worker sets a timer for it). Identical notifications of one transaction fold
# into one. RunSQL cannot be limited to one dialect: SQLite workers poll, so nothing there.
CHANNEL = "hadar_webhooks"


async def _add_trigger(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    if schema_editor.client.capabilities.dialect != "postgres":
        return
    await schema_editor._run_sql(
        "CREATE OR REPLACE FUNCTION hadar_webhook_deliveries_notify() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN"
        f" PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
    )
    # The margin: `next_attempt_at` is the emitting process's clock, read just before.
    await schema_editor._run_sql(
        "CREATE TRIGGER webhook_deliveries_notify"
        " AFTER INSERT OR UPDATE OF status, claimed_by, next_attempt_at ON webhook_deliveries"
        " FOR EACH ROW WHEN (NEW.status = 'pending' AND NEW.claimed_by IS NULL"
        " AND NEW.next_attempt_at <= clock_timestamp() + interval '500 milliseconds')"
        " EXECUTE FUNCTION hadar_webhook_deliveries_notify()"
    )


async def _drop_trigger(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    if schema_editor.client.capabilities.dialect != "postgres":
        return
    await schema_editor._run_sql(
        "DROP TRIGGER IF EXISTS webhook_deliveries_notify ON webhook_deliveries"
    )
    await schema_editor._run_sql("DROP FUNCTION IF EXISTS hadar_webhook_deliveries_notify()")


class Migration(migrations.Migration):
    dependencies = [("hadar", "0007_tenant_key_epoch")]

    initial = False

    operations = [ops.RunPython(_add_trigger, _drop_trigger)]
