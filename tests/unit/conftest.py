"""Fixtures for unit tests: the upstream test keys and a CLI runner that keeps stdout and stderr.

The unit tier never reads the machine's Kubernetes client configuration: every test runs with
``HOME`` and ``KUBECONFIG`` pointing into its own temporary directory and no in-cluster
variables, and an audit hook refuses (and the test then fails) any open of the machine's
kubeconfig files, its ``~/.kube`` or a ServiceAccount mount (``machine_config``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parents[1] / "data"


class MachineConfigRead(RuntimeError):
    """A unit test tried to open the machine's Kubernetes client configuration."""


@dataclass
class MachineConfigGuard:
    """What a client would read from this machine, captured before any test changes the
    environment: the files ``KUBECONFIG`` lists, ``~/.kube`` and the in-cluster mount."""

    files: frozenset[str]
    folders: tuple[str, ...]
    active: bool = False
    reads: list[str] = field(default_factory=list)

    @classmethod
    def of_this_machine(cls) -> MachineConfigGuard:
        listed = os.environ.get("KUBECONFIG", "").split(os.pathsep)
        home = Path.home()
        return cls(
            files=frozenset(os.path.abspath(os.path.expanduser(p)) for p in listed if p),
            folders=(str(home / ".kube"), "/var/run/secrets/kubernetes.io/serviceaccount"),
        )

    def guards(self, path: str) -> bool:
        path = os.path.abspath(path)
        return path in self.files or any(
            path == folder or path.startswith(folder + os.sep) for folder in self.folders
        )

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not self.active or isinstance(args[0], int) or args[0] is None:
            return
        path = os.fsdecode(args[0])
        if self.guards(path):
            self.reads.append(path)
            raise MachineConfigRead(f"a unit test opened the machine's {path}")

    @contextlib.contextmanager
    def guarding(self, *folders: Path) -> Iterator[None]:
        """For the guard's own tests: treat ``folders`` as the machine's too, for a while."""
        saved = self.folders
        self.folders = (*saved, *(str(f) for f in folders))
        try:
            yield
        finally:
            self.folders = saved

    @contextlib.contextmanager
    def expect_refused(self) -> Iterator[list[str]]:
        """For the guard's own tests: the reads refused inside the block, not counted as a fault."""
        start = len(self.reads)
        refused: list[str] = []
        try:
            yield refused
        finally:
            refused += self.reads[start:]
            del self.reads[start:]


GUARD = MachineConfigGuard.of_this_machine()
sys.addaudithook(GUARD.audit)
IN_CLUSTER_VARIABLES = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


@pytest.fixture(autouse=True)
def machine_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MachineConfigGuard]:
    """Point ``HOME`` and ``KUBECONFIG`` at an empty home of the test's own; fail the test if it
    opened the machine's configuration anyway."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(home / ".kube" / "config"))
    for name in IN_CLUSTER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    start = len(GUARD.reads)
    GUARD.active = True
    try:
        yield GUARD
    finally:
        GUARD.active = False
    read = GUARD.reads[start:]
    assert not read, f"a unit test read the machine's Kubernetes configuration: {read}"


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
