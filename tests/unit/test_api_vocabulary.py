"""Nothing outside sealer.api spells the API's words: group, annotations, labels, kinds' refs.

A string constant in product code that holds ``sealops.dev`` (the group, an annotation or a
label under it), Bitnami's annotation prefix or ``bitnami.com/v1alpha1`` is a second definition
waiting to drift; docstrings and comments may name them. Resource refs are built only in
sealer.api as well.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "sealer" / "api.py"
#: Modules whose string constants are docstrings rendered by click (``seal --help``, pinned to
#: click's own rendering by tests/unit/test_cli_overview.py): docstrings may name the words.
RENDERED_DOCSTRINGS = {ROOT / "sealer" / "cli" / "overview.py"}
WORDS = ("sealops.dev", "sealedsecrets.bitnami.com", "bitnami.com/v1alpha1", "kopf.dev")


def _product_modules() -> list[Path]:
    return sorted(p for d in ("sealer", "controller") for p in (ROOT / d).rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            ids.add(id(first.value))
    return ids


def _spelled(path: Path) -> Iterator[str]:
    """Each place in ``path`` that spells a word of the vocabulary or builds a ResourceRef."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) and id(node) not in skip else None
        if isinstance(text, str) and any(word in text for word in WORDS):
            yield f"{path.name}:{getattr(node, 'lineno', 0)}: {text[:60]!r}"
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ResourceRef":
            yield f"{path.name}:{node.lineno}: builds a ResourceRef"


def test_only_sealer_api_spells_the_vocabulary() -> None:
    found = [
        hit
        for path in _product_modules()
        if path != OWNER and path not in RENDERED_DOCSTRINGS
        for hit in _spelled(path)
    ]
    assert found == [], "use the names in sealer.api:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ('X = "sealops.dev/owned-by"\n', "an annotation"),
        ('ref = ResourceRef("apps", "v1", "deployments")\n', "a resource ref"),
        ('def f():\n    return {"apiVersion": "bitnami.com/v1alpha1"}\n', "Bitnami's apiVersion"),
        ('LABEL = f"sealedsecrets.bitnami.com/{x}"\n', "a Bitnami label in an f-string"),
    ],
    ids=["annotation", "resource-ref", "bitnami-version", "f-string"],
)
def test_the_check_sees_a_planted_spelling(tmp_path: Path, source: str, why: str) -> None:
    module = tmp_path / "planted.py"
    module.write_text('"""A docstring may say sealops.dev/owned-by."""\n' + source)
    assert len(list(_spelled(module))) == 1, f"{why}: not caught once"
