"""Run the numbered examples (``examples/NN-topic/``) the way their READMEs say.

Every code block fenced as ```` ```sh ```` in an example's README is a step a user copies and
pastes; :class:`Example` runs those steps for real with ``bash -euo pipefail`` in a copy of the
example's folder placed in a throw-away checkout (``examples/NN-topic`` next to symlinks to the
repository's ``deploy/`` and ``tests/``), so relative paths resolve as in a real checkout.
Blocks meant only for a real cluster are fenced ```` ```console ```` and not run; a test then
does what they do against the API emulator. Tests assert the outcomes, not just exit codes.

One change is made to the steps: ``kubectl apply`` runs with ``--validate=false``, because the
emulator serves no OpenAPI v2 document, which kubectl needs to validate a ``List`` (a key backup
is one). The server still checks every object (CRD schemas included).

``bao`` is one OpenBao dev server for the examples' session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.openbao import OpenBao
from tests.harness import start_openbao
from tests.integration.controller.conftest import cluster, plaintexts, start_controller

__all__ = [
    "BIN",
    "ROOT",
    "Example",
    "bao",
    "cluster",
    "example",
    "plaintexts",
    "sh_blocks",
    "start_controller",
]

ROOT = Path(__file__).parents[3]
BIN = Path(sys.executable).parent
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def sh_blocks(readme: Path) -> list[str]:
    """The README's ```sh blocks, in order."""
    return SH_BLOCK.findall(readme.read_text())


@dataclass
class Example:
    """A copy of ``examples/<name>`` in a scratch checkout, and its README's steps."""

    name: str
    dir: Path
    blocks: list[str]
    env: dict[str, str]

    def run(self, first: int = 0, stop: int | None = None, **env: str) -> str:
        """Run README blocks ``first``..``stop`` (all by default) as one script; return stdout."""
        script = "\n".join(self.blocks[first:stop])
        script = script.replace("kubectl apply ", "kubectl apply --validate=false ")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.dir,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (
            f"{self.name} README blocks {first}..{stop} failed ({done.returncode}):\n"
            f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
        return done.stdout

    def path(self, name: str) -> Path:
        return self.dir / name

    def yaml(self, name: str) -> Any:
        return yaml.safe_load(self.path(name).read_text())

    def docs(self, name: str) -> list[Any]:
        return [d for d in yaml.safe_load_all(self.path(name).read_text()) if d]


@pytest.fixture
def example(tmp_path: Path) -> Any:
    """``example("01-seal-a-secret")`` -> an :class:`Example` in a scratch checkout."""

    def make(name: str, **env: str) -> Example:
        checkout = tmp_path / "checkout"
        (checkout / "examples").mkdir(parents=True, exist_ok=True)
        for linked in ("deploy", "tests"):
            if not (checkout / linked).exists():
                (checkout / linked).symlink_to(ROOT / linked)
        work = checkout / "examples" / name
        shutil.copytree(ROOT / "examples" / name, work)
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        base = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "LANG": "C.UTF-8",
        }
        blocks = sh_blocks(work / "README.md")
        assert blocks, f"examples/{name}/README.md has no ```sh blocks"
        return Example(name, work, blocks, {**base, **env})

    return make


@pytest.fixture(scope="session")
def bao() -> Iterator[OpenBao]:
    server = start_openbao()
    yield server
    server.close()
