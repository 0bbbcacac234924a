"""What a newcomer sees when the configuration cannot work: one line on stderr naming the variable
or file to fix (never the password), a non-zero exit within seconds, and a worker that waits for
its database with capped exponential backoff instead of spinning out tracebacks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import queue
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import SECRET
from tests.dbutil import create_database, drop_database

HADAR = str(Path(sys.executable).with_name("hadar"))
PASSWORD = "pw-n0t-for-l0gs"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    return {**env, **extra}


def _refused_url() -> tuple[str, int]:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return f"postgres://hadar:{PASSWORD}@127.0.0.1:{port}/hadar", port


def _hadar(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HADAR, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"]])
def test_a_sqlite_file_in_a_missing_directory_fails_at_once_naming_it(
    command: list[str], tmp_path: Path
) -> None:
    env = _env(HADAR_DATABASE_URL=f"sqlite://{tmp_path / 'no-such-dir' / 'h.db'}")
    started = time.monotonic()
    done = _hadar(command, env, tmp_path)
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "HADAR_DATABASE_URL" in done.stderr and f"{tmp_path / 'no-such-dir'}" in done.stderr
    assert not (tmp_path / "no-such-dir").exists()


def test_the_sqlite_files_and_the_secret_are_the_owners_alone(tmp_path: Path) -> None:
    database = tmp_path / "hadar.db"
    done = _hadar(["migrate"], _env(HADAR_DATABASE_URL=f"sqlite://{database}"), tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(database) as conn:  # WAL mode is in the file: this makes -wal and -shm
        conn.execute(
            "INSERT INTO tenants (id, slug, name, plan, created_at)"
            " VALUES ('t', 't', 'T', 'starter', '2026-01-01')"
        )
        files = [database, tmp_path / "hadar.db-wal", tmp_path / "hadar.db-shm"]
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in files}
    assert modes == {"hadar.db": 0o600, "hadar.db-wal": 0o600, "hadar.db-shm": 0o600}
    assert stat.S_IMODE((tmp_path / ".hadar-secret").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["serve", "--port", "1"],
        ["keys", "create", "--tenant", "t", "--env", "test", "--role", "admin"],
        ["keys", "revoke", "key_01J000000000000000000000000"],
        ["demo"],
    ],
)
def test_a_refused_postgresql_url_is_one_line_naming_the_variable_and_host(
    command: list[str], tmp_path: Path
) -> None:
    url, port = _refused_url()
    done = _hadar(command, _env(HADAR_DATABASE_URL=url, HADAR_SECRET_KEY=SECRET), tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "HADAR_DATABASE_URL" in done.stderr and f"127.0.0.1:{port}" in done.stderr
    assert "connection refused" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout


def test_postgresql_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    url, _ = _refused_url()
    done = _hadar(["serve", "--port", "1"], _env(HADAR_DATABASE_URL=url), tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("hadar: HADAR_SECRET_KEY is not set")
    assert list(tmp_path.iterdir()) == []  # no .hadar-secret invented on this host


def test_a_weak_secret_key_refuses_to_start_naming_it(tmp_path: Path) -> None:
    env = _env(HADAR_DATABASE_URL=f"sqlite://{tmp_path / 'h.db'}", HADAR_SECRET_KEY="x" * 40)
    done = _hadar(["migrate"], env, tmp_path)
    assert done.returncode == 1
    assert "HADAR_SECRET_KEY is not random" in done.stderr
    assert not (tmp_path / "h.db").exists()


class Worker:
    """`hadar worker` as a subprocess, its stderr lines collected with their arrival times."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [HADAR, "worker", "--poll-interval", "0.05"],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.lines: list[tuple[float, str]] = []
        self._arrivals: queue.Queue[tuple[float, str]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._arrivals.put((time.monotonic(), raw.decode().rstrip()))

    def wait_for(self, text: str, count: int = 1, timeout: float = 20) -> None:
        """Collect lines until `count` of them contain `text`."""
        deadline = time.monotonic() + timeout
        while sum(text in line for _, line in self.lines) < count:
            self.lines.append(self._arrivals.get(timeout=max(0.01, deadline - time.monotonic())))

    def collect(self, seconds: float) -> None:
        """Collect what arrives within `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(queue.Empty):
                self.lines.append(self._arrivals.get(timeout=left))

    def terminate(self) -> int:
        """SIGTERM, then the exit status; the lines collected include everything written."""
        try:
            self.proc.send_signal(signal.SIGTERM)
            status = self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(timeout=10)  # to the end of stderr
            assert self.proc.stderr is not None
            self.proc.stderr.close()
        while not self._arrivals.empty():
            self.lines.append(self._arrivals.get())
        return status


def _assert_backoff(lines: list[tuple[float, str]]) -> None:
    """Three retry lines, 1 s then 2 s apart, announcing 1, 2 and 4 s."""
    for retry, ((_, line), delay) in enumerate(zip(lines, (1, 2, 4), strict=True), start=1):
        assert line.endswith(f"retry {retry} in {delay} s"), line
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(lines)]
    assert 0.9 <= gaps[0] < 1.9 and 1.9 <= gaps[1] < 3.5, gaps


def test_the_worker_waits_for_its_database_with_backoff_and_one_line_per_retry(
    tmp_path: Path,
) -> None:
    url, port = _refused_url()
    worker = Worker(_env(HADAR_DATABASE_URL=url, HADAR_SECRET_KEY=SECRET), tmp_path)
    worker.wait_for("retry", count=3)
    assert worker.terminate() == 0  # SIGTERM ends the wait at once, cleanly
    assert len(worker.lines) == 3, worker.lines  # nothing more: no traceback, no line after
    _assert_backoff(worker.lines)
    for _, line in worker.lines:
        assert "HADAR_DATABASE_URL" in line and f"127.0.0.1:{port}" in line
        assert PASSWORD not in line


def test_a_running_worker_backs_off_while_its_database_is_gone_then_resumes(
    tmp_path: Path,
) -> None:
    server = os.environ.get("HADAR_TEST_DATABASE_URL")
    if not server:
        pytest.skip("drops a live PostgreSQL database under the worker: PostgreSQL pass only")
    url = f"{server.rpartition('/')[0]}/hadar_gone_{uuid.uuid4().hex[:10]}"
    env = _env(HADAR_DATABASE_URL=url, HADAR_SECRET_KEY=SECRET)
    asyncio.run(create_database(url))
    try:
        assert _hadar(["migrate"], env, tmp_path).returncode == 0
        worker = Worker(env, tmp_path)
        worker.wait_for("started")
        asyncio.run(drop_database(url))  # WITH (FORCE): the worker's connections are cut
        worker.wait_for("claiming failed", count=3)
        asyncio.run(create_database(url))
        assert _hadar(["migrate"], env, tmp_path).returncode == 0
        for _ in range(30):  # until the retry the last line announced has come and passed
            worker.collect(1)
            at, line = [entry for entry in worker.lines if "claiming failed" in entry[1]][-1]
            if time.monotonic() > at + int(line.split(" in ")[-1].split()[0]) + 1.5:
                break
        assert worker.terminate() == 0, worker.lines
    finally:
        asyncio.run(drop_database(url))
    failures = [(at, line) for at, line in worker.lines if "claiming failed" in line]
    # At a 0.05 s poll: one line per retry, and none once the database is back (the retry at
    # +4 s finds it, or on a slow machine the one at +8 s).
    assert len(failures) in (3, 4), worker.lines
    assert not any("Traceback" in line for _, line in worker.lines)
    _assert_backoff(failures[:3])
