"""The migrations in `migrations/` build exactly the schema the models declare: a model change
without its migration (or a hand edit that drifts) fails here, not in production."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from hadar.db import tortoise_config
from hadar.settings import Settings


async def test_makemigrations_detects_no_changes(settings: Settings) -> None:
    apps = tortoise_config(settings.database_url)["apps"]
    writers = await MigrationAutodetector(Tortoise.apps, apps).changes()
    assert [w.name for w in writers] == []
