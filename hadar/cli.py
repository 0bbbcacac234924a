"""The `hadar` command: serve, migrate, keys create|revoke, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from hadar.db import close_db, open_db
from hadar.errors import HadarError
from hadar.observability.config import ObservabilityConfig  # observability
from hadar.observability.logs import configure_logging, logging_config  # observability
from hadar.settings import Settings


def _run(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        from hadar import pagination

        pagination.configure(settings.secret_key)
        await open_db(settings.database_url)
        try:
            return await work()
        finally:
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

    configure_logging(ObservabilityConfig.from_env().log_format)  # observability
    asyncio.run(migrate(settings.database_url))
    # Read by the app's lifespan (hadar.webhooks.runner): one webhook worker per server process.
    os.environ["HADAR_INPROCESS_WORKER"] = "0" if args.no_worker else "1"
    metrics.prepare_multiprocess(args.workers)  # observability: workers sum their counts
    uvicorn.run(
        "hadar.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        proxy_headers=True,
        # observability: each worker logs through our handler; our access line replaces
        # uvicorn's, which would write raw URLs (query strings included)
        log_config=logging_config(ObservabilityConfig.from_env().log_format),
        access_log=False,
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from hadar.webhooks.runner import run_worker

    configure_logging(ObservabilityConfig.from_env().log_format)  # observability
    asyncio.run(
        run_worker(
            settings,
            concurrency=args.concurrency,
            lease=args.lease,
            poll_interval=args.poll_interval,
        )
    )
    return 0


def cmd_webhooks_verify(args: argparse.Namespace, settings: Settings) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hadar", description="Hadar API server and tools")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve the API and GraphQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-worker", action="store_true", help="no in-process webhook worker")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply the migrations in migrations/")
    migrate.set_defaults(func=cmd_migrate)

    keys = sub.add_parser("keys", help="mint and revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="mint a key (creating the tenant if missing)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--env", required=True, choices=["test", "live"])
    create.add_argument("--role", required=True, choices=["admin", "agent", "viewer"])
    create.add_argument("--plan", choices=["starter", "growth", "enterprise"])
    create.add_argument("--rate-limit", type=int, dest="rate_limit")
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_keys_create)
    revoke = keys_sub.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=cmd_keys_revoke)

    demo = sub.add_parser("demo", help="create the demo workspace and print a test key")
    demo.set_defaults(func=cmd_demo)

    worker = sub.add_parser("worker", help="run the webhook delivery worker (until SIGTERM)")
    worker.add_argument("--concurrency", type=int, help="attempts in flight at once (16)")
    worker.add_argument("--lease", type=float, help="seconds a claim lasts (30; max 60)")
    worker.add_argument("--poll-interval", type=float, dest="poll_interval", help="idle poll (0.2)")
    worker.set_defaults(func=cmd_worker)

    hooks = sub.add_parser("webhooks", help="webhook tools")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True)
    verify = hooks_sub.add_parser(
        "verify", help="check an X-Hadar-Signature header against a raw body and secret"
    )
    verify.add_argument("--secret", required=True, help="the endpoint secret (whsec_…)")
    verify.add_argument("--header", required=True, help="the X-Hadar-Signature value")
    verify.add_argument("--tolerance", type=int, default=300, help="max age in seconds (300)")
    verify.add_argument("body", nargs="?", default="-", help="raw body file (default: stdin)")
    verify.set_defaults(func=cmd_webhooks_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        return int(args.func(args, settings))
    except HadarError as err:
        print(f"hadar: {err.code}: {err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
