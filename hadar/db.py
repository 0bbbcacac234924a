"""Database configuration and lifecycle (Tortoise ORM), shared by the app, the CLI and tests."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise

from hadar.domain import MODEL_MODULES


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config for `database_url`: one app, `hadar`, migrated from `migrations/`."""
    return {
        "connections": {"default": database_url},
        "apps": {
            "hadar": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_db(database_url: str) -> None:
    """Connect (lazily) for a CLI command or a test session; pair with close_db()."""
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


def _cli_config() -> dict[str, Any]:
    import os

    from hadar.settings import DEFAULT_DATABASE_URL

    return tortoise_config(os.environ.get("HADAR_DATABASE_URL") or DEFAULT_DATABASE_URL)


# For Tortoise's own CLI (`tortoise makemigrations`), named in pyproject's [tool.tortoise].
TORTOISE_ORM = _cli_config()
