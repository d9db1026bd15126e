"""The import-linter contracts catch what they promise.

A copy of the tree (``sealer/``, ``controller/``, ``pyproject.toml``) is made once; each case
plants one import into a module of the copy (or a new module), runs ``lint-imports`` on the copy
and checks exactly which contracts break; then the plant is undone. The unplanted copy keeps
every contract, so a broken contract is the plant's doing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

KUBERNETES = "only sealer.kubeclient talks to the Kubernetes API"
HVAC = "only the Vault backend talks to hvac"
KOPF = "only controller.operator runs in kopf"
HTTP = "only controller.http serves HTTP"
CRYPTO = "only sealer.envelope and sealer.keys do cryptography"
JINJA = "only sealer.templating runs Jinja2 (in its sandbox)"
CLICK = "only the command lines use click"
CONTROLLER_ABOVE = "controller above sealer"
SEALER_LAYERS = "sealer layers"
CONTROLLER_LAYERS = "controller layers"
CHECK_LAYERS = "seal check layers"
SIBLINGS = "the renderer, the pre-commit guard and sealing are unaware of each other"
VAULT_ALONE = "the Vault layer knows no manifests, keys or sealing"
RECONCILERS = "the reconcilers are unaware of each other"
NO_SANDBOX = "the product never imports the sandbox or the tests"

_VERDICT = re.compile(r"^(?P<name>.+?) (?P<verdict>KEPT|BROKEN)(?: \(.*\))?$")


class Tree:
    """A copy of the packages that ``lint-imports`` analyses (never the working tree)."""

    def __init__(self, root: Path, cache: Path) -> None:
        self.root = root
        self.cache = cache

    def lint(self) -> tuple[dict[str, str], str]:
        # PYTHONPATH puts the copy ahead of the editable install, so grimp finds the copy.
        env = {**os.environ, "PYTHONPATH": str(self.root)}
        proc = subprocess.run(
            [str(LINT_IMPORTS), "--cache-dir", str(self.cache)],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        verdicts = {}
        for line in proc.stdout.splitlines():
            match = _VERDICT.match(line.strip())
            if match:
                verdicts[match["name"]] = match["verdict"]
        broken = any(v == "BROKEN" for v in verdicts.values())
        assert proc.returncode == (1 if broken else 0), proc.stdout + proc.stderr
        return verdicts, proc.stdout


def contract_names() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["name"] for c in config["tool"]["importlinter"]["contracts"]}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    root = tmp_path_factory.mktemp("tree")
    for package in ("sealer", "controller"):
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    return Tree(root, tmp_path_factory.mktemp("lint-cache"))


@pytest.fixture
def plant(tree: Tree) -> Iterator[Tree]:
    """Undoes every change a case makes to the copy, whatever the outcome."""
    before = {p: p.read_bytes() for p in tree.root.rglob("*.py")}
    yield tree
    for path in set(tree.root.rglob("*.py")) - set(before):
        path.unlink()
    for path, content in before.items():
        if path.read_bytes() != content:
            path.write_bytes(content)
    for folder in sorted(tree.root.rglob("*"), reverse=True):
        if folder.is_dir() and folder.name != "__pycache__" and not any(folder.iterdir()):
            folder.rmdir()


def test_every_plant_names_a_module_that_exists_or_a_new_one() -> None:
    """A plant into a module that became a package would add a stray file and prove nothing."""
    for case, files, _, _ in PLANTS:
        for name in files:
            path = ROOT / name
            assert not path.with_suffix("").is_dir(), (case, name, "a package now: plant inside")


def test_the_unplanted_copy_keeps_every_contract(tree: Tree) -> None:
    verdicts, output = tree.lint()
    assert set(verdicts) == contract_names(), output
    assert set(verdicts.values()) == {"KEPT"}, output


# (id, {file of the copy: text appended (a new file if it does not exist)}, broken, reason)
PLANTS: list[tuple[str, dict[str, str], set[str], str]] = [
    (
        "kubernetes-in-a-reconciler",
        {"controller/vaultsecrets.py": "import kubernetes"},
        {KUBERNETES},
        "the case the old hand-kept module list let through",
    ),
    (
        "kubernetes-in-a-new-controller-module",
        {"controller/newcomer.py": "import kubernetes"},
        {KUBERNETES},
        "a module nobody listed is covered: the contract is rooted at the package",
    ),
    (
        "kubernetes-imported-inside-a-function",
        {"sealer/check/scan.py": "def _late() -> None:\n    import kubernetes.client"},
        {KUBERNETES},
        "a lazy import (and a submodule of the package) counts too",
    ),
    (
        "hvac-in-the-controller",
        {"controller/connections/auth.py": "import hvac"},
        {HVAC},
        "the controller gets Vault through sealer.vault's Resolver, never hvac itself",
    ),
    (
        "hvac-in-the-renderer",
        {"sealer/render/engine.py": "import hvac"},
        {HVAC},
        "the renderer reads Vault only through a Resolver",
    ),
    (
        "hvac-elsewhere-in-the-vault-layer",
        {"sealer/vault/cache.py": "from hvac import exceptions"},
        {HVAC},
        "being in sealer.vault is not enough: only the backend is excepted",
    ),
    (
        "hvac-in-an-auth-method",
        {"sealer/vault/auth/token.py": "import hvac"},
        {HVAC},
        "an auth method logs in through the backend's LoginApi, never through hvac itself",
    ),
    (
        "hvac-in-a-new-backend-module",
        {"sealer/vault/hvac_backend/leases.py": "import hvac"},
        set(),
        "any module of the backend package may use hvac",
    ),
    (
        "kopf-in-sealer",
        {"sealer/manifests/sealed.py": "import kopf"},
        {KOPF},
        "sealer never runs in kopf: the CLI and the renderer must not load it",
    ),
    (
        "kopf-in-a-controller-module",
        {"controller/reporting.py": "import kopf"},
        {KOPF},
        "only the wiring knows kopf; reconcilers are plain code",
    ),
    (
        "aiohttp-in-sealer",
        {"sealer/online.py": "import aiohttp"},
        {HTTP},
        "one HTTP server, in the controller",
    ),
    (
        "jinja2-outside-the-sandbox",
        {"sealer/render/engine.py": "from jinja2 import Environment"},
        {JINJA},
        "an unsandboxed Environment elsewhere would undo the template sandbox",
    ),
    (
        "cryptography-in-the-controller",
        {"controller/datahash.py": "from cryptography.hazmat.primitives import hashes"},
        {CRYPTO},
        "crypto is built in two documented modules only",
    ),
    (
        "click-in-the-core",
        {"sealer/sealing/opening.py": "import click"},
        {CLICK},
        "errors become click errors once, at the command line",
    ),
    (
        "sealer-imports-the-controller",
        {"sealer/errors.py": "import controller.durations"},
        {CONTROLLER_ABOVE},
        "imports point one way: controller -> sealer",
    ),
    (
        "guard-imports-the-renderer",
        {"sealer/check/values.py": "import sealer.render.errors"},
        {SEALER_LAYERS, SIBLINGS},
        "the pre-commit guard sits below the renderer and shares code only through lower modules",
    ),
    (
        "yaml-reading-knows-the-kinds",
        {"sealer/check/nodes.py": "import sealer.check.objects"},
        {CHECK_LAYERS},
        "the guard's YAML reading sits below the object checks that use it",
    ),
    (
        "vault-layer-reads-manifests",
        {"sealer/vault/kv.py": "import sealer.manifests"},
        {VAULT_ALONE},
        "layers alone allow this (vault sits above manifests); the Vault layer must not",
    ),
    (
        "reconcilers-coupled",
        {"controller/vaultsecrets.py": "import controller.sealedsecrets"},
        {RECONCILERS},
        "what both reconcilers share lives in a module of its own",
    ),
    (
        "product-uses-the-sandbox",
        {"sealer/online.py": "import sandbox.kubeapi"},
        {NO_SANDBOX},
        "the emulator and the launchers are a local stand-in, never shipped",
    ),
    (
        "controller-uses-a-test-helper",
        {"controller/cli.py": "from tests import harness"},
        {NO_SANDBOX},
        "nothing shipped may lean on test code",
    ),
    (
        "keyring-above-the-secret-writer",
        {"controller/keyring.py": "import controller.secretwriter"},
        {CONTROLLER_LAYERS},
        "the key store is below the writer (and the reconcilers) that use it",
    ),
]


@pytest.mark.parametrize(
    ("files", "broken", "reason"), [p[1:] for p in PLANTS], ids=[p[0] for p in PLANTS]
)
def test_a_planted_import_breaks_its_contract(
    plant: Tree, files: dict[str, str], broken: set[str], reason: str
) -> None:
    for name, text in files.items():
        path = plant.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_text() if path.exists() else ""
        path.write_text(old + "\n" + text + "\n")
    verdicts, output = plant.lint()
    assert set(verdicts) == contract_names(), output
    assert {name for name, v in verdicts.items() if v == "BROKEN"} == broken, (reason, output)
