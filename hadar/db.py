"""Database configuration and lifecycle (Tortoise ORM), shared by the app, the CLI and tests."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url

from hadar.domain import model_modules
from hadar.settings import (
    DEFAULT_DATABASE_URL,
    POOL_SIZE,
    StartupError,
    require_directory,
    sqlite_path,
)

POSTGRES_SCHEMES = ("postgres://", "postgresql://", "asyncpg://")
CONNECT_TIMEOUT = 10.0  # seconds; asyncpg's own default (60) reads as a hang
# Options of a Tortoise PostgreSQL client that mean the same to a lone asyncpg connection (the
# rest, pool sizes among them, configure the ORM's client only).
_PASSED_ON = ("ssl", "timeout", "command_timeout", "statement_cache_size", "direct_tls")

# `migrations/` sits at the repository's top and ships inside the wheel as this subpackage
# (setup.py's package_dir), so an installed `hadar migrate` finds it from any directory.
MIGRATIONS = "hadar.migrations"


def tortoise_config(database_url: str, *, migrations: str = MIGRATIONS) -> dict[str, Any]:
    """The Tortoise config for `database_url`: one app, `hadar`, migrated from `migrations/`."""
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            "hadar": {
                "models": model_modules(),
                "default_connection": "default",
                "migrations": migrations,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


SQLITE_ENGINE = "hadar.platform.sqlite"  # Tortoise's client, sending fewer hand-offs


def connection_config(database_url: str) -> str | dict[str, Any]:
    """Tortoise's connection entry for `database_url`: SQLite on Hadar's engine; PostgreSQL
    with a pool of up to POOL_SIZE connections (unless the URL says `maxsize`), told not to
    send asyncpg's reset query on every release (_keep_session)."""
    if database_url.startswith("sqlite://"):
        config = expand_db_url(database_url)
        config["engine"] = SQLITE_ENGINE
        return config
    if database_url.startswith(POSTGRES_SCHEMES):
        config = expand_db_url(database_url)
        config["credentials"]["reset"] = _keep_session
        config["credentials"].setdefault("maxsize", POOL_SIZE)
        return config
    return database_url


async def _keep_session(connection: Any) -> None:
    """What asyncpg's pool does on release instead of `Connection.reset()`, whose query
    (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`) costs a round trip
    each time Tortoise gives a connection back: after every statement outside a transaction.
    Before calling this the pool still rolls back an open transaction and drops listeners
    (`Connection._reset`). The rest undoes session state Hadar never leaves on a pooled
    connection: no SET outside a transaction, no advisory locks, no cursors held past a
    transaction, and LISTEN only on the webhook listener's own connection (webhooks/wakeup.py).
    A connection that breaks this would leak its state to the next request, so keep it so."""
    return None


class DatabaseUnreachable(StartupError):
    """The database named by HADAR_DATABASE_URL does not answer (a worker retries this)."""


def _where(database_url: str) -> str:
    """Where `database_url` points, without its password: what an operator may see. Spelled
    host, database and user apart (not `user@host`, which log redaction reads as an e-mail)."""
    parts = urlsplit(database_url)
    port = parts.port or 5432
    where = f"host {parts.hostname or 'localhost'}:{port}, database {parts.path.lstrip('/')}"
    return where + (f", user {parts.username}" if parts.username else "")


def _reason(exc: BaseException, database_url: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host {urlsplit(database_url).hostname}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:.0f} s"
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    password = urlsplit(database_url).password
    return text.replace(password, "***") if password else text


def prepare_sqlite(database_url: str) -> None:
    """Refuse a SQLite file whose directory is missing, and create the file owner-only (0600)
    before SQLite does: SQLite gives its -wal and -shm files the main file's mode."""
    path = sqlite_path(database_url)
    if path is None:
        return
    require_directory(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StartupError(
            f"HADAR_DATABASE_URL: cannot create the SQLite file {path}: {exc.strerror}"
        ) from None


async def ensure_reachable(database_url: str) -> None:
    """Connect once to the database of `database_url`; StartupError (one line, no password)
    naming HADAR_DATABASE_URL and the host when it cannot be used."""
    prepare_sqlite(database_url)
    if not database_url.startswith(POSTGRES_SCHEMES):
        return
    import asyncpg

    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(**connect_options(database_url)), timeout=CONNECT_TIMEOUT
        )
    except Exception as exc:
        raise DatabaseUnreachable(
            f"cannot connect to HADAR_DATABASE_URL ({_where(database_url)}): "
            f"{_reason(exc, database_url)}; check that PostgreSQL runs there and the URL's "
            "user, password and database name"
        ) from None
    await conn.close()


def connect_options(database_url: str) -> dict[str, Any]:
    """asyncpg.connect() keywords for one connection like the ORM pool's to the PostgreSQL
    database of a Tortoise URL (`postgres://`, `postgresql://`, `asyncpg://`)."""
    return lone_connection(expand_db_url(database_url)["credentials"])


def lone_connection(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """asyncpg.connect() keywords from a Tortoise PostgreSQL client's credentials (a parsed URL
    or a live client's): the same host, user, TLS, timeouts and schema, without the pool's own
    parameters (`maxsize`, ...), which asyncpg would send as server settings that PostgreSQL
    refuses."""
    settings = dict(credentials.get("server_settings") or {})
    if credentials.get("schema"):
        settings["search_path"] = credentials["schema"]
    if credentials.get("application_name"):
        settings["application_name"] = credentials["application_name"]
    return {
        **{k: credentials.get(k) for k in ("host", "port", "user", "password", "database")},
        "server_settings": settings,
        **{k: credentials[k] for k in _PASSED_ON if k in credentials},
    }


async def open_db(database_url: str) -> None:
    """Check the database answers, then connect for a CLI command or a test session; pair with
    close_db()."""
    await ensure_reachable(database_url)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


def _cli_config() -> dict[str, Any]:
    # Tortoise's CLI puts the current directory on sys.path but looks for a dotted migrations
    # module inside its parent package's directory (it would start a fresh hadar/migrations/),
    # so from the repository root it gets the top-level name of the same files.
    url = os.environ.get("HADAR_DATABASE_URL") or DEFAULT_DATABASE_URL
    return tortoise_config(url, migrations="migrations")


# For Tortoise's own CLI (`tortoise makemigrations`, run from the repository root), named in
# pyproject's [tool.tortoise].
TORTOISE_ORM = _cli_config()
