"""``seal --version`` and ``seal --help`` start fast and say exactly what click would say.

:func:`sealer.cli.main` answers both from :mod:`sealer.cli.overview`, loading neither click nor
any command module (nor cryptography or yaml). These tests keep that text click's own: the
group's help as click renders it, and the version the package metadata carries.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from sealer.cli import overview
from sealer.cli.app import cli

PROBE = """
import json, sys
sys.argv = ["seal", *json.loads(sys.argv[1])]
from sealer.cli import main
try:
    main()
except SystemExit:  # click exits when it has answered
    pass
heavy = {"click", "cryptography", "yaml", "jinja2", "kubernetes", "hvac", "kopf", "sealer.cli.app"}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy)),
      file=sys.stderr)
"""

CLICK = """
import sys
from sealer.cli.app import cli
cli(sys.argv[1:], prog_name="seal")
"""


def run(code: str, *args: str, columns: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_help_is_clicks_rendering() -> None:
    text = CliRunner().invoke(cli, ["--help"], prog_name="seal", terminal_width=78).output
    assert text == overview.HELP, f"sealer/cli/overview.py HELP must become:\n{text}"


def test_version_is_the_packages() -> None:
    assert f"seal, version {importlib.metadata.version('sealops')}\n" == overview.VERSION


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
@pytest.mark.parametrize("columns", [None, "80", "200"])
def test_the_fast_answer_loads_nothing_heavy_and_matches_click(
    args: list[str], columns: str | None
) -> None:
    fast = run(PROBE, json.dumps(args), columns=columns)
    assert fast.returncode == 0, fast.stderr
    assert json.loads(fast.stderr.strip().splitlines()[-1]) == []
    slow = run(CLICK, *args, columns=columns)
    assert slow.returncode == 0, slow.stderr
    assert fast.stdout == slow.stdout


@pytest.mark.parametrize("args", [["--version", "x"], ["--help", "create"], ["--cert"], []])
def test_every_other_command_line_goes_to_click(args: list[str]) -> None:
    assert overview.fast_answer(args) is None


def test_a_narrow_terminal_gets_clicks_wrapping() -> None:
    narrow = run(PROBE, json.dumps(["--help"]), columns="60")
    assert narrow.returncode == 0, narrow.stderr
    assert "click" in json.loads(narrow.stderr.strip().splitlines()[-1])
    assert narrow.stdout == run(CLICK, "--help", columns="60").stdout != overview.HELP


def test_columns_are_read_as_click_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "79")
    assert overview.fast_answer(["--help"]) is None
    monkeypatch.setenv("COLUMNS", "not-a-number")
    assert overview.fast_answer(["-h"]) in (None, overview.HELP)  # falls back to the terminal
    monkeypatch.setenv("COLUMNS", "80")
    assert overview.fast_answer(["-h"]) == overview.HELP


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [("seal cr", 1, {"create"}), ("seal re", 1, {"reencrypt", "render"}),
     ("seal create --from-l", 2, {"--from-literal"})],
)  # fmt: skip
def test_shell_completion_completes_command_names(
    words: str, cword: int, expected: set[str]
) -> None:
    """While click completes, the group does not route to the default command."""
    env = {**os.environ, "_SEAL_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(cword)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "sealer"], env=env, capture_output=True, text=True, timeout=60
    )
    assert {line.split(",", 1)[1] for line in done.stdout.splitlines()} == expected
