"""The `hadar` command: serve, migrate, keys create|revoke, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import textwrap
from collections.abc import Awaitable, Callable
from typing import Any

from hadar import __version__
from hadar.db import close_db, open_db
from hadar.errors import HadarError
from hadar.observability.config import ObservabilityConfig  # observability
from hadar.observability.logs import configure_logging, logging_config  # observability
from hadar.settings import ALL_COMMANDS, ENVIRONMENT, Settings, StartupError


def _run(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        from hadar import pagination
        from hadar.platform import epochs
        from hadar.platform.guard import Guard
        from hadar.platform.store import RedisStore

        pagination.configure(settings.secret_key)
        await open_db(settings.database_url)
        # Key changes reach every server's key cache through the servers' Redis (the same
        # HADAR_REDIS_URL), announced once the command's transaction has committed.
        store = RedisStore(settings.redis_url) if settings.redis_url else None
        try:
            async with epochs.announcing(Guard(store, shared=True) if store else None):
                return await work()
        finally:
            if store is not None:
                await store.aclose()
            await close_db()

    return asyncio.run(main())


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from hadar.migrate import migrate

    applied = asyncio.run(migrate(settings.database_url))
    print(f"migrations applied: {len(applied)}" + (f" ({', '.join(applied)})" if applied else ""))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from hadar.migrate import migrate
    from hadar.observability import metrics  # observability
    from hadar.serving import LimitedHttpToolsProtocol

    configure_logging(ObservabilityConfig.from_env().log_format)  # observability
    asyncio.run(migrate(settings.database_url))
    # Read by the app's lifespan (hadar.webhooks.runner): one webhook worker per server process.
    os.environ["HADAR_INPROCESS_WORKER"] = "0" if args.no_worker else "1"
    metrics.prepare_multiprocess(args.workers)  # observability: workers sum their counts
    uvicorn.run(
        "hadar.serving:create_served_app",  # create_app, and the collector set for a server
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        proxy_headers=True,
        http=LimitedHttpToolsProtocol,  # httptools with the 32 KiB request-head limit
        # observability: each worker logs through our handler; our access line replaces
        # uvicorn's, which would write raw URLs (query strings included)
        log_config=logging_config(ObservabilityConfig.from_env().log_format),
        access_log=False,
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from hadar.webhooks.runner import run_worker

    configure_logging(ObservabilityConfig.from_env().log_format)  # observability
    # While the database is down asyncpg's pool logs a traceback per reconnect; the worker
    # already says so in one line per retry.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
    asyncio.run(
        run_worker(
            settings,
            concurrency=args.concurrency,
            lease=args.lease,
            poll_interval=args.poll_interval,
        )
    )
    return 0


def cmd_webhooks_verify(args: argparse.Namespace, settings: Settings | None) -> int:
    from hadar.webhooks.signing import verify

    if args.body == "-":
        raw = sys.stdin.buffer.read()
    else:
        with open(args.body, "rb") as handle:
            raw = handle.read()
    ok = verify(raw, args.header, args.secret, tolerance=args.tolerance)
    print("valid" if ok else "invalid")
    return 0 if ok else 1


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from hadar.clock import isoformat
    from hadar.services import keys

    minted = _run(
        settings,
        lambda: keys.mint_for_tenant(
            slug=args.tenant,
            environment=args.env,
            role=args.role,
            secret=settings.secret_key,
            plan=args.plan,
            rate_limit=args.rate_limit,
            allowed_ips=args.allow_ip,
        ),
    )
    if args.json:
        print(
            json.dumps(
                {
                    "token": minted.token,
                    "id": minted.key.id,
                    "last4": minted.key.last4,
                    "tenant": minted.tenant_slug,
                    "environment": minted.key.environment,
                    "role": minted.key.role,
                    "allowed_ips": minted.key.allowed_ips,
                    "expires_at": isoformat(minted.key.expires_at),
                }
            )
        )
    else:
        print(minted.token)
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from hadar.services import keys

    key = _run(settings, lambda: keys.revoke_key(key_id=args.key_id))
    print(f"revoked {key.id}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from hadar.demo import seed_demo

    token = _run(settings, lambda: seed_demo(secret=settings.secret_key))
    print(token)
    return 0


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {high})")
        return value

    return parse


def _float_in(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # also refuses nan and inf
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low:g} to {high:g})")
        return value

    return parse


def _plain(text: str) -> str:
    return text.replace("`", "")


def environment_help(command: str) -> str:
    """The variables of ENVIRONMENT that change `command`, with their defaults, for --help."""
    lines = ["environment variables:"]
    for var in ENVIRONMENT:
        if command in var.commands:
            lines.append(f"  {var.name}  (default: {_plain(var.default)})")
            lines += textwrap.wrap(
                _plain(var.meaning), width=78, initial_indent="      ", subsequent_indent="      "
            )
    return "\n".join(lines)


def _command(
    sub: Any, name: str, help: str, env: str | None = None, **kw: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=help,
        epilog=environment_help(env or name) if env or name in ALL_COMMANDS else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kw,
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hadar",
        description="Hadar API server and tools.",
        epilog="Configuration is environment variables only: `hadar COMMAND --help` lists "
        "those COMMAND reads, with their defaults.",
    )
    parser.add_argument("--version", action="version", version=f"hadar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = _command(sub, "serve", "migrate, then serve REST, GraphQL and the docs")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    serve.add_argument(
        "--port", type=_int_in(1, 65535), default=8000, help="TCP port (%(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=_int_in(1, 64),
        default=1,
        help="uvicorn worker processes, 1 to 64 (%(default)s)",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="no in-process webhook worker (run `hadar worker` beside it)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = _command(sub, "migrate", "apply the pending migrations, then exit")
    migrate.set_defaults(func=cmd_migrate)

    keys = _command(sub, "keys", "mint and revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = _command(keys_sub, "create", "mint a key (creating the tenant if missing)", env="keys")
    create.add_argument("--tenant", required=True, metavar="SLUG", help="the tenant's slug")
    create.add_argument(
        "--env", required=True, choices=["test", "live"], help="the key's environment"
    )
    create.add_argument(
        "--role", required=True, choices=["admin", "agent", "viewer"], help="what the key may do"
    )
    create.add_argument(
        "--plan",
        choices=["starter", "growth", "enterprise"],
        help="set the tenant's plan (its per-minute rate limit)",
    )
    create.add_argument(
        "--rate-limit",
        type=_int_in(1, 1_000_000),
        dest="rate_limit",
        metavar="N",
        help="a negotiated per-minute limit for the tenant, 1 to 1000000 (overrides the plan)",
    )
    create.add_argument(
        "--allow-ip",
        action="append",
        dest="allow_ip",
        default=[],
        metavar="CIDR",
        help="accept requests with this key only from this IPv4/IPv6 address or CIDR "
        "(repeatable; none: any address)",
    )
    create.add_argument(
        "--json", action="store_true", help="print a JSON object instead of the bare token"
    )
    create.set_defaults(func=cmd_keys_create)
    revoke = _command(keys_sub, "revoke", "revoke a key at once, on every instance", env="keys")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (key_…)")
    revoke.set_defaults(func=cmd_keys_revoke)

    demo = _command(sub, "demo", "create the demo workspace and print a fresh test key")
    demo.set_defaults(func=cmd_demo)

    worker = _command(sub, "worker", "run the webhook delivery worker (until SIGTERM)")
    worker.add_argument(
        "--concurrency",
        type=_int_in(1, 256),
        metavar="N",
        help="attempts in flight at once, 1 to 256 (16)",
    )
    worker.add_argument(
        "--lease",
        type=_float_in(1, 60),
        metavar="SECONDS",
        help="how long a claim lasts before another worker may take it, 1 to 60 (30)",
    )
    worker.add_argument(
        "--poll-interval",
        type=_float_in(0.01, 60),
        dest="poll_interval",
        metavar="SECONDS",
        help="idle wait between looks for due deliveries, 0.01 to 60 (0.2)",
    )
    worker.set_defaults(func=cmd_worker)

    hooks = _command(sub, "webhooks", "webhook tools")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    verify = _command(
        hooks_sub, "verify", "check an X-Hadar-Signature header against a raw body and secret"
    )
    verify.add_argument("--secret", required=True, help="the endpoint secret (whsec_…)")
    verify.add_argument("--header", required=True, help="the X-Hadar-Signature value")
    verify.add_argument(
        "--tolerance",
        type=_int_in(1, 86_400),
        default=300,
        metavar="SECONDS",
        help="max age of the signature, 1 to 86400 (%(default)s)",
    )
    verify.add_argument("body", nargs="?", default="-", help="raw body file (default: stdin)")
    verify.set_defaults(func=cmd_webhooks_verify, needs_settings=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one `hadar` command; a configuration problem is one line on stderr and exit 1."""
    from hadar import secretbox

    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env() if getattr(args, "needs_settings", True) else None
        if settings is not None:
            # Here, not in `_run`: migrate (its seal step), serve and worker need the box too.
            secretbox.configure(settings.secret_key)
        return int(args.func(args, settings))
    except StartupError as err:
        print(f"hadar: {err}", file=sys.stderr)
        return 1
    except HadarError as err:
        print(f"hadar: {err.code}: {err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
