"""Behind a load balancer the allow-list sees the client named by X-Forwarded-For, but only
when the peer is listed in FORWARDED_ALLOW_IPS (a real `hadar serve`, on the suite's
database)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hadar.settings import Settings
from tests.conftest import SECRET
from tests.integration.conftest import HADAR, free_port


@contextlib.contextmanager
def serve(settings: Settings, workdir: Path, forwarded_allow: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    env.update(
        HADAR_DATABASE_URL=settings.database_url,
        HADAR_SECRET_KEY=SECRET,
        FORWARDED_ALLOW_IPS=forwarded_allow,
    )
    log = workdir / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [HADAR, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()[-3000:])
            subprocess.run(["sleep", "0.1"], check=False)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def mint(settings: Settings, workdir: Path, *allowed: str) -> str:
    args = [HADAR, "keys", "create", "--tenant", f"x-{os.getpid()}-{len(allowed)}", "--env"]
    args += ["test", "--role", "agent", "--json"]
    for cidr in allowed:
        args += ["--allow-ip", cidr]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    env.update(HADAR_DATABASE_URL=settings.database_url, HADAR_SECRET_KEY=SECRET)
    done = subprocess.run(args, env=env, cwd=workdir, capture_output=True, timeout=60, check=True)
    minted = json.loads(done.stdout)
    assert minted["allowed_ips"] == [c if "/" in c else f"{c}/32" for c in allowed]
    return str(minted["token"])


@pytest.mark.integration
def test_x_forwarded_for_counts_only_through_a_trusted_proxy(
    settings: Settings, tmp_path: Path
) -> None:
    token = mint(settings, tmp_path, "203.0.113.9")
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.9"}
    with serve(settings, tmp_path, forwarded_allow="127.0.0.1") as url:
        assert httpx.get(f"{url}/api/v1/leads", headers=headers).status_code == 200
        spoofed = {**headers, "X-Forwarded-For": "198.51.100.1"}
        r = httpx.get(f"{url}/api/v1/leads", headers=spoofed)
        assert r.status_code == 403 and "198.51.100.1" in r.json()["error"]["message"]
    with serve(settings, tmp_path, forwarded_allow="192.0.2.1") as url:  # not the peer
        r = httpx.get(f"{url}/api/v1/leads", headers=headers)
        assert r.status_code == 403 and "127.0.0.1" in r.json()["error"]["message"]
        r = httpx.post(f"{url}/graphql", headers=headers, json={"query": "{ __typename }"})
        assert r.status_code == 403
