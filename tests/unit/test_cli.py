"""The `hadar` command explains itself: --version, help on every option, the environment
variables in each command's help, numeric options checked, the documented commands unchanged."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hadar import __version__
from hadar.cli import build_parser, environment_help
from hadar.settings import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield name, child
                for sub_name, grandchild in _subparsers(child):
                    yield f"{name} {sub_name}", grandchild


def _usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(args)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"hadar {__version__}"


def test_python_dash_m_hadar_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hadar", "keys", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "create" in done.stdout and "revoke" in done.stdout


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in _subparsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "keys", "demo"])
def test_help_lists_the_environment_variables_with_their_defaults(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    wanted = [var for var in ENVIRONMENT if command in var.commands]
    assert any(var.name == "HADAR_DATABASE_URL" for var in wanted)
    for var in wanted:
        default = var.default.replace("`", "")
        assert f"{var.name} (default: {default})" in text
    if command == "serve":
        assert {var.name for var in wanted} >= {"HADAR_REDIS_URL", "HADAR_SECRET_KEY"}


@pytest.mark.parametrize(
    "args",
    [
        ["worker", "--lease", "61"],
        ["worker", "--lease", "0"],
        ["worker", "--lease", "nan"],
        ["worker", "--lease", "soon"],
        ["worker", "--concurrency", "0"],
        ["worker", "--concurrency", "2.5"],
        ["worker", "--poll-interval", "-1"],
        ["serve", "--port", "0"],
        ["serve", "--port", "70000"],
        ["serve", "--workers", "0"],
        [
            "keys",
            "create",
            "--tenant",
            "t",
            "--env",
            "test",
            "--role",
            "admin",
            "--rate-limit",
            "0",
        ],
        ["webhooks", "verify", "--secret", "s", "--header", "h", "--tolerance", "-5"],
    ],
)
def test_numeric_options_out_of_range_are_usage_errors(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    err = _usage_error(args, capsys)
    assert re.search(r"is out of range|is not a (whole )?number", err), err


def test_numeric_options_in_range_are_parsed() -> None:
    args = build_parser().parse_args(["worker", "--lease", "2", "--poll-interval", "0.05"])
    assert (args.lease, args.poll_interval, args.concurrency) == (2.0, 0.05, None)
    assert build_parser().parse_args(["worker", "--lease", "60"]).lease == 60.0


def test_the_documented_commands_and_flags_still_parse() -> None:
    parse = build_parser().parse_args
    serve = parse(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "4", "--no-worker"])
    assert (serve.host, serve.port, serve.workers, serve.no_worker) == ("0.0.0.0", 9000, 4, True)
    keys = ["keys", "create", "--tenant", "acme", "--env", "live", "--role", "viewer"]
    create = parse([*keys, "--plan", "growth", "--rate-limit", "120", "--json"])
    assert (create.tenant, create.env, create.role, create.plan) == (
        "acme",
        "live",
        "viewer",
        "growth",
    )
    assert (create.rate_limit, create.json) == (120, True)
    assert parse(["keys", "revoke", "key_01ABC"]).key_id == "key_01ABC"
    for command in (["migrate"], ["demo"], ["worker"]):
        assert parse(command).command == command[0]


def test_readme_configuration_table_is_the_settings_table() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    expected = [f"| `{var.name}` | {var.default} | {var.meaning} |" for var in ENVIRONMENT]
    assert rows == expected


def test_environment_help_of_a_command_names_only_what_changes_it() -> None:
    assert "HADAR_REDIS_URL" in environment_help("serve")
    assert "HADAR_REDIS_URL" not in environment_help("migrate")
    assert "FORWARDED_ALLOW_IPS" not in environment_help("worker")
