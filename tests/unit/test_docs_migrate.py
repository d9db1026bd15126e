"""docs/migrate-from-bitnami.md's kubeseal table: every kubeseal flag has a row, and every seal
command and flag it names exists.

The kubeseal flags are those upstream's ``cmd/kubeseal`` binds (``Flags.Bind``); the seal side is
read from the real CLI's ``--help``, so a renamed option fails here before it misleads a user.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sealer.cli import cli

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "migrate-from-bitnami.md"
#: Every flag upstream kubeseal binds (cmd/kubeseal/main.go, Flags.Bind), long names.
KUBESEAL_FLAGS = [
    "cert", "controller-namespace", "controller-name", "format", "sealed-secret-file",
    "secret-file", "fetch-cert", "allow-empty-data", "version", "validate", "merge-into", "raw",
    "name", "from-file", "kubeconfig", "scope", "rotate", "re-encrypt", "recovery-unseal",
    "recovery-private-key",
]  # fmt: skip


def _rows() -> list[tuple[str, str]]:
    text = GUIDE.read_text()
    head = "| kubeseal | seal |"
    assert head in text, "the guide has no kubeseal table"
    rows = []
    for line in text[text.index(head) :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        left, right = (cell.strip() for cell in line.strip("|").split(" | ", 1))
        rows.append((left, right))
    return rows


def _commands() -> dict[str, click.Command]:
    assert isinstance(cli, click.Group)
    context = click.Context(cli)
    found = {name: cli.get_command(context, name) for name in cli.list_commands(context)}
    return {name: command for name, command in found.items() if command is not None}


def _options(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


@pytest.mark.parametrize("flag", KUBESEAL_FLAGS)
def test_every_kubeseal_flag_has_a_row(flag: str) -> None:
    assert any(re.search(rf"--{flag}\b", left) for left, _ in _rows()), flag


def test_every_seal_command_and_flag_named_exists() -> None:
    commands = _commands()
    seal_options = _options(cli) | {o for c in commands.values() for o in _options(c)}
    for _, right in _rows():
        for command in re.findall(r"`seal ([a-z]+)\b", right):
            # `seal secret.yaml`, `seal FILE`: the default command, given a file
            assert command in commands, f"no seal command {command!r}"
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z])\b", right):
            assert flag in seal_options, f"{flag} is no option of seal: {right}"


def test_the_table_commands_run() -> None:
    """Each seal command the table names answers --help (exit 0)."""
    runner, commands = CliRunner(), _commands()
    for command in sorted({c for _, r in _rows() for c in re.findall(r"`seal ([a-z]+)\b", r)}):
        if command in commands:
            assert runner.invoke(cli, [command, "--help"]).exit_code == 0, command
