from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('tenant_id', fields.CharField(max_length=40)),
                ('environment', fields.CharField(max_length=8)),
                ('key_id', fields.CharField(null=True, max_length=40)),
                ('action', fields.CharField(max_length=64)),
                ('object_id', fields.CharField(null=True, max_length=40)),
                ('trace_id', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_events', 'app': 'hadar', 'indexes': [Index(fields=['tenant_id', 'environment', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant_id', fields.CharField(max_length=40)),
                ('environment', fields.CharField(max_length=8)),
                ('key', fields.CharField(max_length=255)),
                ('method', fields.CharField(max_length=8)),
                ('path', fields.CharField(max_length=500)),
                ('request_hash', fields.CharField(max_length=64)),
                ('status', fields.IntField()),
                ('body', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotency_records', 'app': 'hadar', 'unique_together': (('tenant_id', 'environment', 'key'),), 'indexes': [Index(fields=['expires_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('slug', fields.CharField(unique=True, max_length=63)),
                ('name', fields.CharField(max_length=200)),
                ('plan', fields.CharField(default='starter', max_length=16)),
                ('rate_limit_override', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tenants', 'app': 'hadar', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('tenant', fields.ForeignKeyField('hadar.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.CASCADE)),
                ('environment', fields.CharField(max_length=8)),
                ('role', fields.CharField(max_length=8)),
                ('name', fields.CharField(null=True, max_length=200)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('last4', fields.CharField(max_length=4)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_keys', 'app': 'hadar', 'indexes': [Index(fields=['tenant_id', 'environment', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Lead',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('tenant', fields.ForeignKeyField('hadar.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name='leads', on_delete=OnDelete.CASCADE)),
                ('environment', fields.CharField(max_length=8)),
                ('name', fields.CharField(max_length=200)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('email', fields.CharField(null=True, max_length=320)),
                ('source', fields.CharField(max_length=32)),
                ('source_raw', fields.CharField(null=True, max_length=200)),
                ('sources', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('utm', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('budget_aed', fields.BigIntField(null=True)),
                ('bedrooms', fields.IntField(null=True)),
                ('area', fields.CharField(null=True, max_length=200)),
                ('handover_horizon', fields.CharField(null=True, max_length=16)),
                ('status', fields.CharField(default='new', max_length=16)),
                ('assigned_to', fields.CharField(null=True, max_length=320)),
                ('do_not_contact', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('score', fields.IntField(default=0)),
                ('score_factors', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leads', 'app': 'hadar', 'unique_together': (('tenant_id', 'environment', 'phone'), ('tenant_id', 'environment', 'email')), 'indexes': [Index(fields=['tenant_id', 'environment', 'id']), Index(fields=['tenant_id', 'environment', 'source', 'id']), Index(fields=['tenant_id', 'environment', 'status', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
