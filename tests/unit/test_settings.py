"""Where the signing secret comes from, and which secrets Hadar refuses to start with."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hadar.settings import Settings, StartupError

STRONG = "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz"
POSTGRES = "postgres://hadar:pw@127.0.0.1:5432/hadar"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_generated_secret_sits_beside_the_database_whatever_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    data.mkdir()
    elsewhere.mkdir()
    env = {"HADAR_DATABASE_URL": f"sqlite://{data / 'hadar.db'}"}
    monkeypatch.chdir(data)
    first = Settings.from_env(env).secret_key
    monkeypatch.chdir(elsewhere)
    assert Settings.from_env(env).secret_key == first
    assert (data / ".hadar-secret").read_text() == first
    assert _mode(data / ".hadar-secret") == 0o600
    assert not (elsewhere / ".hadar-secret").exists()
    assert len(first.encode()) >= 32


def test_a_relative_sqlite_url_keeps_its_secret_beside_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "var").mkdir()
    monkeypatch.chdir(tmp_path)
    Settings.from_env({"HADAR_DATABASE_URL": "sqlite://./var/hadar.db"})
    assert (tmp_path / "var" / ".hadar-secret").exists()
    assert not (tmp_path / ".hadar-secret").exists()


def test_hadar_secret_file_names_where_the_secret_is_generated(tmp_path: Path) -> None:
    named = tmp_path / "secrets" / "hadar"
    named.parent.mkdir()
    env = {"HADAR_DATABASE_URL": f"sqlite://{tmp_path / 'h.db'}", "HADAR_SECRET_FILE": str(named)}
    secret = Settings.from_env(env).secret_key
    assert named.read_text() == secret
    assert _mode(named) == 0o600
    assert not (tmp_path / ".hadar-secret").exists()


@pytest.mark.parametrize("value", ["x", "test-secret-key-0123456789", "a" * 64, "ab" * 40])
def test_a_short_or_degenerate_secret_key_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(StartupError, match="HADAR_SECRET_KEY") as caught:
        Settings.from_env({"HADAR_DATABASE_URL": POSTGRES, "HADAR_SECRET_KEY": value})
    assert value not in str(caught.value)  # the message never echoes the secret


def test_a_strong_secret_key_is_used_as_given() -> None:
    settings = Settings.from_env({"HADAR_DATABASE_URL": POSTGRES, "HADAR_SECRET_KEY": STRONG})
    assert settings.secret_key == STRONG


def test_an_empty_secret_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / ".hadar-secret").write_text("\n")
    with pytest.raises(StartupError, match=r"\.hadar-secret.*too short"):
        Settings.from_env({"HADAR_DATABASE_URL": f"sqlite://{tmp_path / 'h.db'}"})


def test_postgresql_without_a_secret_key_refuses_to_invent_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StartupError, match="HADAR_SECRET_KEY is not set"):
        Settings.from_env({"HADAR_DATABASE_URL": POSTGRES})
    missing = tmp_path / "shared-secret"
    with pytest.raises(StartupError, match="HADAR_SECRET_KEY is not set"):
        Settings.from_env({"HADAR_DATABASE_URL": POSTGRES, "HADAR_SECRET_FILE": str(missing)})
    assert list(tmp_path.iterdir()) == []  # nothing generated, here or at the named path


def test_postgresql_reads_an_existing_shared_secret_file(tmp_path: Path) -> None:
    shared = tmp_path / "shared-secret"
    shared.write_text(STRONG + "\n")
    env = {"HADAR_DATABASE_URL": POSTGRES, "HADAR_SECRET_FILE": str(shared)}
    assert Settings.from_env(env).secret_key == STRONG


def test_an_in_memory_database_needs_no_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"HADAR_DATABASE_URL": "sqlite://:memory:"})
    assert len(settings.secret_key) >= 32
    assert list(tmp_path.iterdir()) == []


def test_a_sqlite_file_in_a_missing_directory_is_refused_naming_it(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'no-such-dir' / 'h.db'}"
    with pytest.raises(StartupError, match=r"HADAR_DATABASE_URL.*no-such-dir.*not an existing"):
        Settings.from_env({"HADAR_DATABASE_URL": url})


def test_a_non_numeric_backoff_scale_is_refused_naming_the_variable() -> None:
    env = {"HADAR_DATABASE_URL": POSTGRES, "HADAR_SECRET_KEY": STRONG}
    with pytest.raises(StartupError, match="HADAR_WEBHOOK_BACKOFF_SCALE"):
        Settings.from_env({**env, "HADAR_WEBHOOK_BACKOFF_SCALE": "fast"})
    scaled = Settings.from_env({**env, "HADAR_WEBHOOK_BACKOFF_SCALE": "0.001"})
    assert scaled.webhook_backoff_scale == 0.001
