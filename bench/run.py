"""`make bench`: every benchmark of bench/ in turn, each in its own process. Not run by `make test`.

    .venv/bin/python -m bench.run [--only core,platform,graphql,webhooks] [--quick]

The core, platform and GraphQL benches run on a temp SQLite file; with HADAR_TEST_DATABASE_URL
set (`make bench` sets it from scripts/services.sh) core and platform run on PostgreSQL too, and
the webhook bench (PostgreSQL only) runs. `--quick` shortens every run for a smoke check. Each
bench writes its figures to bench/results/; this exits non-zero if any bench failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from bench.common import ROOT, need_wrk

QUICK = {
    "core": ["--rows", "20000", "--seconds", "2"],
    "platform": ["--seconds", "2", "--repeat", "1"],
    "graphql": ["--rows", "500", "--seconds", "2"],
    "webhooks": ["--events", "300", "--seconds", "2"],
}


def plan(only: set[str], postgres: str | None) -> list[tuple[str, list[str]]]:
    """The (bench, arguments) runs for the benches in `only`, PostgreSQL ones when available."""
    runs: list[tuple[str, list[str]]] = [("core", []), ("platform", []), ("graphql", [])]
    if postgres:
        runs += [("core", ["--database-url", postgres]), ("platform", ["--database-url", postgres])]
        runs.append(("webhooks", ["--database-url", postgres]))
    else:
        print("bench: HADAR_TEST_DATABASE_URL unset: skipping the PostgreSQL runs", flush=True)
    return [(name, args) for name, args in runs if name in only]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(QUICK), help="comma-separated benches (%(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    args = parser.parse_args()
    only = set(args.only.split(","))
    unknown = only - set(QUICK)
    if unknown:
        parser.error(f"unknown bench {', '.join(sorted(unknown))} (known: {', '.join(QUICK)})")
    need_wrk()  # fail before an hour of preparation, not after
    failed: list[str] = []
    for name, extra in plan(only, os.environ.get("HADAR_TEST_DATABASE_URL")):
        command = [sys.executable, "-m", f"bench.{name}_bench", *extra]
        command += QUICK[name] if args.quick else []
        print(f"\n== {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, check=False)
        print(f"== {name}: exit {done.returncode} in {time.monotonic() - started:.0f} s")
        if done.returncode != 0:
            failed.append(" ".join(command[2:]))
    if failed:
        print(f"\nbench: failed: {'; '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
