"""Hadar as a newcomer installs it: `pip install .` (a real wheel, not the editable install) into a
fresh venv, then `hadar migrate` and `hadar keys create|revoke` from an empty directory.

Nothing downloads: the wheel is built without build isolation, installed with --no-index
--no-deps, and the fresh venv borrows the dev venv's site-packages for the dependencies through a
.pth file (which sys.path appends after the venv's own site-packages, so the wheel's `hadar`
wins).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from hadar import __version__
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "hadar", "migrations")


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh venv holding Hadar installed from its wheel."""
    work = tmp_path_factory.mktemp("install")
    # Build from a copy so the in-tree build leaves no build/ or egg-info behind in the repo.
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    wheels = work / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), "."], cwd=source)
    (wheel,) = wheels.glob("hadar-*.whl")

    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    _run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], cwd=work
    )
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=work
    )
    (Path(site.strip()) / "hadar-dev-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


def _env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_") and k != "PYTHONPATH"}
    env["HADAR_DATABASE_URL"] = f"sqlite://{directory / 'hadar.db'}"
    return env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_wheel_migrates_and_mints_keys_from_an_empty_directory(
    installed: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    where = _run(
        [str(installed / "python"), "-c", "import hadar; print(hadar.__file__)"],
        cwd=tmp_path,
        env=env,
    )
    assert not where.startswith(str(ROOT)), f"hadar imported from the checkout: {where}"

    out = _run([str(installed / "hadar"), "migrate"], cwd=tmp_path, env=env)
    assert "0001_initial" in out

    create = [str(installed / "hadar"), "keys", "create", "--tenant", "x", "--env", "test"]
    minted = json.loads(_run([*create, "--role", "admin", "--json"], cwd=tmp_path, env=env))
    assert minted["token"].startswith("hdr_test_")
    revoke = subprocess.run(
        [str(installed / "hadar"), "keys", "revoke", minted["id"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert revoke.returncode == 0, revoke.stderr
    assert f"revoked {minted['id']}" in revoke.stderr

    # The generated secret sits beside the database, and both are the owner's alone.
    assert _mode(tmp_path / ".hadar-secret") == 0o600
    assert _mode(tmp_path / "hadar.db") == 0o600


def test_python_dash_m_hadar_reports_the_installed_version(installed: Path, tmp_path: Path) -> None:
    env = {**_env(tmp_path), "HADAR_SECRET_KEY": SECRET}
    out = _run([str(installed / "python"), "-m", "hadar", "--version"], cwd=tmp_path, env=env)
    assert out.strip() == f"hadar {__version__}"
