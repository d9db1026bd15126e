"""Fixtures for unit tests: the upstream test keys and a CLI runner that keeps stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode()


@dataclass(frozen=True)
class Seal:
    """Runs the real ``seal`` console script in a subprocess, as a user's shell would."""

    cwd: Path

    def __call__(self, *args: str, stdin: bytes | None = None, tty: bool = False) -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEALOPS_")}
        proc = subprocess.run(
            [sys.executable, "-m", "sealer", *args],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            cwd=self.cwd,
            env=env,
            timeout=60,
            check=False,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr.decode())

    def ok(self, *args: str, stdin: bytes | None = None) -> Run:
        run = self(*args, stdin=stdin)
        assert run.code == 0, run.stderr
        return run


@pytest.fixture
def seal(tmp_path: Path) -> Seal:
    return Seal(cwd=tmp_path)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """The upstream 4096- and 2048-bit test keys, copied next to the test's files."""
    out = {}
    for name in ("key-4096.pem", "cert-4096.pem", "key-2048.pem", "cert-2048.pem"):
        target = tmp_path / name
        target.write_bytes((DATA / name).read_bytes())
        out[name] = target
    return out


def error_line(run: Run) -> str:
    """Assert the CLI failed the documented way and return its one error line."""
    assert run.code != 0, "expected a failure"
    assert run.stdout == b"", f"stdout must stay empty on error, got {run.stdout[:200]!r}"
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got: {run.stderr!r}"
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


def paths(*items: Path) -> Sequence[str]:
    return [str(p) for p in items]
