"""The size rule: no module in ``sealer/`` or ``controller/`` over 400 lines, no function over 60.

A module or function may be longer if it says why, in a comment of the form ``# long: <reason>``:
for a function, on the line just above its ``def`` (or above its first decorator); for a module,
in its header (before its first statement after the docstring). Only real comments count (read
with :mod:`tokenize`), not text in a string. The failure lists every offender with its length, so
one run shows all.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("sealer", "controller")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
LONG = re.compile(r"#\s*long:\s*\S.*")


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _reasons(text: str) -> set[int]:
    """The lines (1-based) that hold a ``# long: <reason>`` comment and nothing else."""
    lines = text.splitlines()
    return {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
        and LONG.fullmatch(token.string.rstrip())
        and not lines[token.start[0] - 1][: token.start[1]].strip()
    }


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _header_end(tree: ast.Module) -> int:
    """The last line of a module's header: before its first statement after the docstring."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body[0].lineno - 1 if body else 10**9


def offenders(path: Path, text: str) -> list[str]:
    """Every breach of the size rule in one module (``path`` is only for the messages)."""
    lines = text.count("\n") + (not text.endswith("\n") and bool(text))
    tree = ast.parse(text)
    reasons = _reasons(text)
    found = []
    if lines > MAX_MODULE_LINES and not any(line <= _header_end(tree) for line in reasons):
        found.append(f"{path}: module of {lines} lines (at most {MAX_MODULE_LINES})")
    for node in _functions(tree):
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if {node.lineno - 1, first - 1} & reasons:
            continue
        found.append(
            f"{path}:{node.lineno}: function {node.name} of {length} lines "
            f"(at most {MAX_FUNCTION_LINES})"
        )
    return found


def test_no_module_or_function_is_over_its_size() -> None:
    found = []
    for module in _modules():
        relative = module.relative_to(ROOT).as_posix()
        found += offenders(Path(relative), module.read_text(encoding="utf-8"))
    assert not found, "over the size rule (add `# long: <reason>` if it must be):\n" + "\n".join(
        found
    )


def _module(lines: int, header: str = "") -> str:
    return header + "".join(f"x{i} = {i}\n" for i in range(lines - header.count("\n")))


def _function(body: int, above: str = "", decorator: str = "") -> str:
    return above + decorator + "def f():\n" + "    x = 1\n" * (body - 1)


CASES = [
    pytest.param(_module(400), [], id="a module of 400 lines is within the rule"),
    pytest.param(_module(401), ["module of 401 lines"], id="a module of 401 lines is over"),
    pytest.param(
        _module(401, '"""Doc."""\n# long: one table, split it and it reads worse\n'),
        [],
        id="a module with a reason among its first lines",
    ),
    pytest.param(
        _module(401, "# long:\n"), ["module of 401 lines"], id="a reason must not be empty"
    ),
    pytest.param(
        _module(401, '"""Doc."""\nx = 0\n# long: too late, after the first statement\n'),
        ["module of 401 lines"],
        id="a module's reason must be in its header",
    ),
    pytest.param(_function(60), [], id="a function of 60 lines is within the rule"),
    pytest.param(_function(61), ["function f of 61 lines"], id="a function of 61 lines is over"),
    pytest.param(
        _function(61, above="# long: one state machine\n"),
        [],
        id="a reason on the line above the def",
    ),
    pytest.param(
        _function(61, above="# long: a reason\n\n"),
        ["function f of 61 lines"],
        id="a reason must be just above, not a line higher",
    ),
    pytest.param(
        _function(61, above="# long: a reason\n", decorator="@decorator\n"),
        [],
        id="a reason above the decorators",
    ),
    pytest.param(
        _function(61, above='x = "# long: a string is not a comment"\n'),
        ["function f of 61 lines"],
        id="text in a string is not a reason",
    ),
    pytest.param(
        _function(61, above="# a comment that gives no reason\n"),
        ["function f of 61 lines"],
        id="any other comment is not a reason",
    ),
    pytest.param(
        "class C:\n    async " + _function(61).replace("\n    ", "\n        "),
        ["function f of 61 lines"],
        id="methods and async functions count",
    ),
    pytest.param(
        _module(401) + _function(61),
        ["module of", "function f of 61 lines"],
        id="every offender is listed",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_the_rule_reads_sizes_and_reasons(text: str, expected: list[str]) -> None:
    found = offenders(Path("m.py"), text)
    assert len(found) == len(expected), found
    for message, part in zip(found, expected, strict=True):
        assert part in message
