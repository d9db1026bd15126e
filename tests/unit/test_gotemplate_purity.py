"""sealer.gotemplate is pure: it imports the standard library's computing modules, its own
modules, sealer.errors and the templating budget, and nothing that does I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "sealer" / "gotemplate"
OURS = ("sealer.gotemplate", "sealer.errors", "sealer.templating.budget")
IO = {"os", "io", "pathlib", "socket", "subprocess", "shutil", "tempfile", "urllib", "http"}
MODULES = sorted(PACKAGE.glob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_imports_are_pure(path: Path) -> None:
    for name in imported(path):
        top = name.split(".")[0]
        if name.startswith(OURS) or name == "__future__":
            continue
        assert top in sys.stdlib_module_names, f"{path.name} imports {name}"
        assert top not in IO, f"{path.name} imports {name}, which does I/O"


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_builtin_io(path: Path) -> None:
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & {"open", "print", "input", "exec", "eval", "__import__"}, path.name
