"""Platform benchmark (issue: rate limits + idempotency). Not run by `make test`.

The cost of the limiter + idempotency layer, as the ratio of a route's throughput with the layer
to the same route without it, on the in-process store and on Redis, all in one run and served
the same way (uvicorn, one worker, loopback, bounded wrk runs):

  - GET  /api/v1/leads?limit=1   limiter (one store call)  vs  no limiter
  - POST /api/v1/leads           limiter + Idempotency-Key (lock, lookup, stored response in
                                 the same transaction)      vs  neither, no key
  - GET  /api/v1/leads?limit=1   authentication as shipped (a database lookup per request, so a
                                 revocation is seen at once) vs  a 5-second in-process cache

"Without the layer" swaps the guard for one that admits everything without a store call and
sends no Idempotency-Key; authentication, routing, handler and envelope are identical.

    .venv/bin/python -m bench.platform_bench [--seconds 5] [--connections 32] [--repeat 2]
                                             [--database-url URL]

A private redis-server is started on a free loopback port (and stopped); the database is a
temp SQLite file unless --database-url names a PostgreSQL server (a fresh database is created
beside it and dropped afterwards). Results go to bench/results/platform-<db>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import BIN, ROOT, free_port, mint_bench_key, server, wrk
from hadar.migrate import migrate
from tests.dbutil import create_database, drop_database

SECRET = "bench-secret-0123456789-abcdefghijkl"
POST_LUA = """
-- POST a new lead (random phone, so rows are inserted), with a fresh Idempotency-Key when
-- WITH_KEY is true.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local with_key = %s
local n = 0
math.randomseed(os.time() + os.clock() * 1000000)
local run = math.random(0, 999999999)
request = function()
  n = n + 1
  local phone = string.format("+97150%%07d", math.random(0, 9999999))
  local body = '{"name":"Bench Lead","phone":"' .. phone .. '","source":"bayut"}'
  local headers = {}  -- wrk.format replaces wrk.headers (-H, Content-Type) with this table
  for k, v in pairs(wrk.headers) do headers[k] = v end
  if with_key then headers["Idempotency-Key"] = string.format("bench-%%d-%%d", run, n) end
  return wrk.format(nil, nil, headers, body)
end
"""


# ------------------------------------------------------------------ served variants ----


class _NullGuard:
    """Admits everything without touching a store: the route without the limiter."""

    shared = False

    async def meter(self, key: str, limit: int, *, fail_closed: bool = False) -> Any:
        from hadar.platform.store import Verdict

        return Verdict(True, limit, limit - 1, int(time.time()) + 1, 0)

    async def acquire(self, key: str, ttl: float, *, fail_closed: bool = False) -> str:
        return "null"

    async def release(self, key: str, token: str) -> None:
        return None

    async def ready(self) -> bool:
        return True


def _cache_authentication(ttl: float = 5.0) -> None:
    """Wrap keys.authenticate in a per-process TTL cache (what 'no auth cache' is measured
    against; a revoked key would stay usable for up to `ttl` on every process)."""
    from hadar.services import keys

    original = keys.authenticate
    cache: dict[str | None, tuple[Any, float]] = {}

    async def authenticate(*, header: str | None, secret: str) -> Any:
        now = time.monotonic()
        hit = cache.get(header)
        if hit is not None and hit[1] > now:
            return hit[0]
        scope = await original(header=header, secret=secret)
        cache[header] = (scope, now + ttl)
        return scope

    keys.authenticate = authenticate  # type: ignore[assignment]


def make_app() -> Any:
    """uvicorn factory: BENCH_VARIANT is layer | bare | authcache."""
    from hadar.app import create_app

    variant = os.environ.get("BENCH_VARIANT", "layer")
    if variant == "authcache":
        _cache_authentication()
    app = create_app()
    if variant == "bare":
        app.state.runtime.guard = _NullGuard()
    return app


# ---------------------------------------------------------------------- harness ----


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (scripts/services.sh start installs it)")
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    args += ["--appendonly", "no", "--daemonize", "no", "--dir", str(workdir)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            done = subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False
            )
            if done.stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


async def prepare(url: str) -> str:
    """Migrate, mint a key whose limit is never reached, seed one lead; returns the token."""
    from hadar import pagination
    from hadar.db import close_db, open_db
    from hadar.services import leads

    await create_database(url)
    await migrate(url)
    pagination.configure(SECRET)
    await open_db(url)
    try:
        minted = await mint_bench_key(SECRET)
        from hadar.services.keys import authenticate

        scope = await authenticate(header=f"Bearer {minted.token}", secret=SECRET)
        await leads.create_lead(scope=scope, data={"name": "Seed", "phone": "+971501234567"})
    finally:
        await close_db()
    return minted.token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hadar-platform-bench-"))
    if args.database_url:
        url = f"{args.database_url.rpartition('/')[0]}/hadar_pbench_{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite://{tmp / 'bench.db'}"
    kind = url.split("://")[0]
    token = asyncio.run(prepare(url))
    auth = {"Authorization": f"Bearer {token}"}
    scripts = {}
    for name, with_key in (("post_key", "true"), ("post_nokey", "false")):
        scripts[name] = tmp / f"{name}.lua"
        scripts[name].write_text(POST_LUA % with_key)
    s, c = args.seconds, args.connections
    results: dict[str, dict[str, float]] = {}
    env = {"HADAR_DATABASE_URL": url, "HADAR_SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)}

    def serve(variant: str, redis_url: str | None) -> tuple[str, Any]:
        port = free_port()
        cmd = [str(BIN / "uvicorn"), "bench.platform_bench:make_app", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        extra = {**env, "BENCH_VARIANT": variant, "HADAR_REDIS_URL": redis_url or ""}
        url = f"http://127.0.0.1:{port}/api/v1/leads"
        return url, server(cmd, extra, f"http://127.0.0.1:{port}/healthz")

    def keep_best(name: str, figures: dict[str, float]) -> None:
        if name not in results or figures["rps"] > results[name]["rps"]:
            results[name] = figures

    print(f"platform bench on {kind}: best of {args.repeat} interleaved {s}s wrk runs, {c} conns")
    with private_redis(tmp) as redis_url, contextlib.ExitStack() as stack:
        # Every variant runs at once (idle ones cost nothing) and the wrk runs are interleaved,
        # so background load on the machine spreads over all of them alike.
        variants = {
            "bare_memory": ("bare", None),
            "layer_memory": ("layer", None),
            "bare_redis": ("bare", redis_url),
            "layer_redis": ("layer", redis_url),
            "authcache_memory": ("authcache", None),
        }
        urls = {}
        for label, (variant, rurl) in variants.items():
            urls[label], running = serve(variant, rurl)
            stack.enter_context(running)
        for base in urls.values():
            wrk(f"{base}?limit=1", seconds=1, connections=c, headers=auth)  # warm up
        for _ in range(args.repeat):
            for label, base in urls.items():
                figures = wrk(f"{base}?limit=1", seconds=s, connections=c, headers=auth)
                keep_best(f"get_{label}", figures)
            for label, base in urls.items():
                if label.startswith("authcache"):
                    continue
                script = str(scripts["post_nokey" if label.startswith("bare") else "post_key"])
                figures = wrk(base, seconds=s, connections=c, headers=auth, script=script)
                keep_best(f"post_{label}", figures)
    asyncio.run(drop_database(url))

    def ratio(a: str, b: str) -> float:
        return results[a]["rps"] / results[b]["rps"]

    ratios = {
        "get_layer_vs_bare_memory": ratio("get_layer_memory", "get_bare_memory"),
        "get_layer_vs_bare_redis": ratio("get_layer_redis", "get_bare_redis"),
        "post_layer_vs_bare_memory": ratio("post_layer_memory", "post_bare_memory"),
        "post_layer_vs_bare_redis": ratio("post_layer_redis", "post_bare_redis"),
        "get_uncached_vs_cached_auth": ratio("get_layer_memory", "get_authcache_memory"),
    }
    print(f"\n{'run':<26}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for name, r in results.items():
        row = f"{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['non_2xx']:>9.0f}"
        print(f"{name:<26}{row}")
    print()
    for name, value in ratios.items():
        print(f"{name:<30}{value:>6.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    payload = {"database": kind, "seconds": s, "connections": c, "repeat": args.repeat}
    payload["results"] = results
    (out / f"platform-{kind}.json").write_text(json.dumps({**payload, "ratios": ratios}, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
