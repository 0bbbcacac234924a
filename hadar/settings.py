"""Typed settings, read once from the environment (12-factor; every value has a default).

ENVIRONMENT is the one table of the variables Hadar reads: `hadar <command> --help` renders it
and a test holds README.md's Configuration table to it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite://./hadar.db"
# Connections a process's PostgreSQL pool may open (Tortoise's default is 5; `?maxsize=N` in
# HADAR_DATABASE_URL sets it). asyncpg hands a released connection to whichever request asks
# next, not to the longest waiter, so with 32 requests in flight on 5 connections some waited
# through dozens of turns: GET /api/v1/leads p99 230-820 ms, 40 ms at 20 (README, Benchmarks).
POOL_SIZE = 20
SECRET_FILE_NAME = ".hadar-secret"  # noqa: S105 (a file name, not a secret)
MIN_SECRET_BYTES = 32
MIN_SECRET_DISTINCT = 8  # fewer distinct characters than this is a placeholder, not a secret
ALL_COMMANDS = frozenset({"serve", "worker", "migrate", "keys", "demo"})


class StartupError(Exception):
    """Hadar cannot run as configured. The message is one line for the operator: it names the
    variable or file to fix and never holds a secret; the CLI prints it alone and exits 1."""


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str
    commands: frozenset[str] = ALL_COMMANDS  # the `hadar` commands whose behaviour it changes


ENVIRONMENT: tuple[Variable, ...] = (
    Variable(
        "HADAR_DATABASE_URL",
        f"`{DEFAULT_DATABASE_URL}`",
        "any Tortoise URL; `postgres://user:pass@host:5432/db` in production (each process "
        f"pools up to {POOL_SIZE} connections; `?maxsize=N` sets it); a SQLite file's directory "
        "must exist (the file is created owner-only, 0600)",
    ),
    Variable(
        "HADAR_REDIS_URL",
        "unset: in-process store",
        "`redis://host:6379/0`: rate limits, idempotency locks, shared by every instance",
        frozenset({"serve"}),
    ),
    Variable(
        "HADAR_SECRET_KEY",
        "unset: read from `HADAR_SECRET_FILE`",
        "signs cursors and hashes API keys; at least 32 bytes; required on PostgreSQL and the "
        "same on every instance",
    ),
    Variable(
        "HADAR_SECRET_FILE",
        "`.hadar-secret` beside the SQLite database",
        "used when `HADAR_SECRET_KEY` is unset: on SQLite generated once (0600) if missing; on "
        "PostgreSQL it must already exist (never generated per host)",
    ),
    Variable(
        "HADAR_WEBHOOK_BACKOFF_SCALE",
        "`1.0`",
        "multiplies the webhook retry schedule (tests use `0.001`)",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "HADAR_ALLOW_PRIVATE_WEBHOOK_URLS",
        "`0`",
        "`1` lets webhook endpoints point at loopback/private addresses (tests only)",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "FORWARDED_ALLOW_IPS",
        "`127.0.0.1,::1`",
        "(uvicorn's) proxies whose `X-Forwarded-For` gives the client address",
        frozenset({"serve"}),
    ),
    Variable(
        "HADAR_PUBLIC_URL",
        "`http://127.0.0.1:8000`",
        "the address providers reach Hadar at; integrations build their `webhook_url` from it",
        frozenset({"serve"}),
    ),
    Variable(
        "HADAR_META_GRAPH_URL",
        "`https://graph.facebook.com`",
        "Meta's Graph API base URL (tests point it at a local fake)",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "HADAR_META_GRAPH_VERSION",
        "`v23.0`",
        "the Graph API version in Meta request paths",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "HADAR_META_APP_SECRET",
        "unset: Meta inbound refused",
        "Hadar's Meta app secret: checks inbound `X-Hub-Signature-256`",
        frozenset({"serve"}),
    ),
    Variable(
        "HADAR_META_VERIFY_TOKEN",
        "unset: Meta inbound refused",
        "answers Meta's `hub.verify_token` subscription check",
        frozenset({"serve"}),
    ),
    Variable(
        "HADAR_ULTRAMSG_URL",
        "`https://api.ultramsg.com`",
        "UltraMsg's base URL (tests point it at a local fake)",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "HADAR_STRIPE_URL",
        "`https://api.stripe.com`",
        "Stripe's base URL (tests point it at a local fake)",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "HADAR_VAPI_URL",
        "`https://api.vapi.ai`",
        "Vapi's base URL (tests point it at a local fake)",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "HADAR_LOG_FORMAT",
        "`text` (`json` in `docker/compose.yaml`)",
        "`json`: one JSON object a line, each with `trace_id`, tenant and key id; see "
        "[Operations](#operations-logs-sentry-metrics)",
        frozenset({"serve", "worker"}),
    ),
    Variable(
        "HADAR_SENTRY_DSN",
        "unset: off",
        "report every `internal_error` (and provider circuit-breaker openings) to Sentry, "
        "tagged with the `trace_id`, personal data scrubbed",
        frozenset({"serve"}),
    ),
    Variable(
        "HADAR_METRICS_TOKEN",
        "unset: `/metrics` answers 404",
        "serve Prometheus metrics at `GET /metrics` to `Authorization: Bearer <this token>`",
        frozenset({"serve"}),
    ),
)


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for other engines and `:memory:`."""
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


GENERATE_HINT = "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def check_secret(value: str, *, source: str, fix: str = GENERATE_HINT) -> str:
    """`value` if it is strong enough to sign cursors and hash keys; else StartupError."""
    size = len(value.encode())
    if size < MIN_SECRET_BYTES:
        raise StartupError(
            f"{source} is too short: {size} bytes, it needs at least {MIN_SECRET_BYTES} random "
            f"bytes; {fix}"
        )
    if len(set(value)) < MIN_SECRET_DISTINCT:
        raise StartupError(
            f"{source} is not random: only {len(set(value))} distinct characters; {fix}"
        )
    return value


def require_directory(database: Path) -> None:
    """StartupError unless the SQLite file `database` can be created: SQLite itself hangs on a
    missing directory instead of failing."""
    if not database.parent.is_dir():
        raise StartupError(
            f"HADAR_DATABASE_URL names a SQLite file in {database.parent.absolute()}, which is "
            "not an existing directory: create it or point the URL elsewhere"
        )


def _read_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise StartupError(f"cannot read the secret file {path}: {exc.strerror}") from None


def _generate_secret(path: Path) -> str:
    """Generate the secret once into `path` (mode 0600) and reuse it afterwards."""
    if path.exists():
        return _read_secret(path)
    value = secrets.token_urlsafe(48)
    staged = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise StartupError(f"cannot create the secret file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    try:
        os.link(staged, path)  # atomic and exclusive: the file appears whole or not at all
    except FileExistsError:  # another process got there first: use theirs
        value = _read_secret(path)
    finally:
        staged.unlink()
    return value


def resolve_secret(env: dict[str, str], database_url: str) -> str:
    """The signing secret: HADAR_SECRET_KEY, else HADAR_SECRET_FILE, else `.hadar-secret` beside
    the SQLite file (generated once). PostgreSQL never gets a secret invented on one host."""
    if env.get("HADAR_SECRET_KEY"):
        return check_secret(env["HADAR_SECRET_KEY"], source="HADAR_SECRET_KEY")
    named = Path(env["HADAR_SECRET_FILE"]) if env.get("HADAR_SECRET_FILE") else None
    database = sqlite_path(database_url)
    if database is not None:
        require_directory(database)
        path = named or database.parent / SECRET_FILE_NAME
        value = _generate_secret(path)
    elif database_url.startswith("sqlite://"):
        # An in-memory database lives and dies with this process, and so may its secret.
        return secrets.token_urlsafe(48)
    elif named is not None and named.exists():
        path = named
        value = _read_secret(path)
    else:
        raise StartupError(
            "HADAR_SECRET_KEY is not set: on PostgreSQL every instance must share one secret, so "
            "Hadar will not invent one; set HADAR_SECRET_KEY (32+ random bytes) or point "
            "HADAR_SECRET_FILE at an existing file holding it"
        )
    origin = "HADAR_SECRET_FILE" if named else "beside the SQLite database"
    return check_secret(
        value,
        source=f"the secret file {path.absolute()} ({origin})",
        fix="put 32+ random bytes in it, or delete it to have one generated (keys minted "
        "under the old secret then stop working)"
        if database is not None
        else GENERATE_HINT,
    )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _number(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise StartupError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise StartupError(f"{name} must be greater than 0, not {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str = field(default="", repr=False)
    webhook_backoff_scale: float = 1.0
    allow_private_webhook_urls: bool = False
    max_body_bytes: int = 1_048_576
    # Where providers reach Hadar, and the providers' own base URLs (SPEC 1, 9).
    public_url: str = "http://127.0.0.1:8000"
    meta_graph_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "v23.0"
    meta_app_secret: str | None = field(default=None, repr=False)
    meta_verify_token: str | None = field(default=None, repr=False)
    ultramsg_url: str = "https://api.ultramsg.com"
    stripe_url: str = "https://api.stripe.com"
    vapi_url: str = "https://api.vapi.ai"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Settings from `env` (default: the process environment); StartupError if unusable."""
        env = dict(os.environ if env is None else env)
        database_url = env.get("HADAR_DATABASE_URL") or DEFAULT_DATABASE_URL
        return cls(
            database_url=database_url,
            redis_url=env.get("HADAR_REDIS_URL") or None,
            secret_key=resolve_secret(env, database_url),
            webhook_backoff_scale=_number(env, "HADAR_WEBHOOK_BACKOFF_SCALE", 1.0),
            allow_private_webhook_urls=_flag(env.get("HADAR_ALLOW_PRIVATE_WEBHOOK_URLS")),
            **_provider_settings(env),
        )


def _provider_settings(env: dict[str, str]) -> dict[str, Any]:
    """HADAR_PUBLIC_URL and the provider settings of SPEC 1, where set (defaults otherwise)."""
    names = {
        "public_url": "HADAR_PUBLIC_URL",
        "meta_graph_url": "HADAR_META_GRAPH_URL",
        "meta_graph_version": "HADAR_META_GRAPH_VERSION",
        "meta_app_secret": "HADAR_META_APP_SECRET",
        "meta_verify_token": "HADAR_META_VERIFY_TOKEN",
        "ultramsg_url": "HADAR_ULTRAMSG_URL",
        "stripe_url": "HADAR_STRIPE_URL",
        "vapi_url": "HADAR_VAPI_URL",
    }
    return {attr: env[var] for attr, var in names.items() if env.get(var)}
