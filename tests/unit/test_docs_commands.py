"""No doc tells you to ``kubectl apply -f`` a kustomize folder, or ``-k`` one that is not.

``kubectl apply -f DIR`` sends every YAML file in DIR as an object, ``kustomization.yaml``
included, and exits 1 on it (there is no ``Kustomization`` kind in a cluster), so a line such as
``kubectl apply -f deploy/crds && kubectl apply -k deploy/base`` never reaches the base. Every
``kubectl apply`` in the README, docs/, deploy/ and the examples is checked; a path is looked up
from the repository root and from the doc's own folder (examples run from theirs).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = sorted(
    {ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "deploy").rglob("*.md")}
    | set((ROOT / "examples").glob("*/README.md"))
)
APPLY = re.compile(r"kubectl\s+apply\b[^`\n|;&#]*")
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _is_kustomization(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).is_file() for name in KUSTOMIZATIONS)


def apply_problems(command: str, *, doc_folder: Path) -> list[str]:
    """What is wrong with one ``kubectl apply …`` command's -f/-k paths."""
    words = shlex.split(command)
    problems = []
    for index, word in enumerate(words):
        flag, _, value = word.partition("=")
        if flag not in ("-f", "--filename", "-k", "--kustomize"):
            continue
        target = value or (words[index + 1] if index + 1 < len(words) else "")
        places = [ROOT / target, doc_folder / target]
        if flag in ("-f", "--filename") and any(_is_kustomization(p) for p in places):
            problems.append(f"{command!r}: {target} holds a kustomization: use -k")
        if flag in ("-k", "--kustomize") and not any(_is_kustomization(p) for p in places):
            problems.append(f"{command!r}: {target} is not a kustomization")
    return problems


CHECKER_CASES = [
    ("f-on-crds", "kubectl apply -f deploy/crds", "use -k", "the README's old install line"),
    ("f-trailing-slash", "kubectl apply -f deploy/crds/", "use -k", "docs/testing.md's old line"),
    ("filename-equals", "kubectl apply --filename=deploy/base", "use -k", "the long form"),
    ("second-f", "kubectl apply -f a.yaml -f deploy/overlays/ha", "use -k", "not only the first"),
    ("k-on-a-file", "kubectl apply -k deploy/crds/kopf-peering.yaml", "not a kustomization", "-k"),
    ("k-on-a-plain-folder", "kubectl apply -k deploy/helm", "not a kustomization", "a typo"),
]


@pytest.mark.parametrize(
    ("command", "expected", "reason"),
    [c[1:] for c in CHECKER_CASES],
    ids=[c[0] for c in CHECKER_CASES],
)
def test_the_checker_finds(command: str, expected: str, reason: str) -> None:
    problems = apply_problems(command, doc_folder=ROOT)
    assert len(problems) == 1 and expected in problems[0], reason


@pytest.mark.parametrize(
    "command",
    ["kubectl apply -k deploy/crds", "kubectl apply -k deploy/overlays/ha", "kubectl apply -f x"],
)
def test_the_checker_passes(command: str) -> None:
    assert apply_problems(command, doc_folder=ROOT) == []


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_docs_apply_kustomize_folders_with_k(doc: Path) -> None:
    problems = [
        problem
        for command in APPLY.findall(doc.read_text())
        for problem in apply_problems(command.strip(), doc_folder=doc.parent)
    ]
    assert problems == []


def test_the_docs_do_say_kubectl_apply() -> None:
    commands = [c for doc in DOCS for c in APPLY.findall(doc.read_text())]
    assert sum("-k deploy/crds" in c for c in commands) >= 3, "README, deploy/README, testing.md"
