"""`seal render` as a user runs it: inputs, all-or-nothing output, one error line, --krm."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.conftest import Seal, error_line

CM = "kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\ndata: {a: '<b>'}\n"
SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: '<vault:secret/app#k>'}\n"
)


def test_directory_is_rendered_in_path_order(seal: Seal, tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "sub").mkdir(parents=True)
    (app / "b.yaml").write_text(CM.replace("name: c", "name: b"))
    (app / "a.json").write_text('{"kind": "ConfigMap", "metadata": {"name": "a"}}')
    (app / "sub" / "c.yml").write_text(CM)
    (app / ".hidden").mkdir()
    (app / ".hidden" / "x.yaml").write_text("kind: X\nmetadata: {name: hidden}\n")
    (app / "notes.txt").write_text("not a manifest")
    docs = list(yaml.safe_load_all(seal.ok("render", "app").stdout))
    assert [d["metadata"]["name"] for d in docs] == ["a", "b", "c"]


def test_error_prints_nothing_but_one_line(seal: Seal, tmp_path: Path) -> None:
    # The ConfigMap before the Secret would render fine: all or nothing keeps it back too.
    (tmp_path / "m.yaml").write_text(CM + "---\n" + SECRET)
    line = error_line(seal("render", "m.yaml"))
    assert line == (
        "Error: m.yaml: Secret s: stringData.k: VAULT_ADDR is not set: say which Vault to read "
        "placeholders from"
    )


def test_reference_mode_from_stdin(seal: Seal) -> None:
    out = seal.ok(
        "render", "--mode", "reference", "--connection", "vault", "-", stdin=SECRET.encode()
    )
    (doc,) = yaml.safe_load_all(out.stdout)
    assert doc["kind"] == "VaultSecret"
    assert doc["spec"]["data"] == [{"key": "k", "ref": "secret/app#k"}]


def test_reference_mode_needs_a_connection(seal: Seal) -> None:
    line = error_line(seal("render", "--mode", "reference", "-", stdin=SECRET.encode()))
    assert "needs a connection" in line


def test_deny_plaintext(seal: Seal) -> None:
    plain = "kind: Secret\nmetadata: {name: s, namespace: n}\nstringData: {k: v4lue}\n"
    line = error_line(seal("render", "--deny-plaintext", "-", stdin=plain.encode()))
    assert line.startswith("Error: stdin: Secret n/s: stringData.k: holds a literal value")
    assert "v4lue" not in line


def test_krm_success_and_failure(seal: Seal) -> None:
    items = yaml.safe_load_all(SECRET)
    resource_list: dict[str, Any] = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": list(items),
        "functionConfig": {"kind": "ConfigMap", "data": {"mode": "reference", "connection": "v"}},
    }
    out = seal.ok("render", "--krm", stdin=yaml.safe_dump(resource_list).encode())
    result = yaml.safe_load(out.stdout)
    assert result["items"][0]["kind"] == "VaultSecret"
    assert "results" not in result

    resource_list["functionConfig"] = {"kind": "ConfigMap", "data": {"mode": "inline"}}
    resource_list["items"][0]["metadata"]["annotations"] = {
        "config.kubernetes.io/path": "secrets/s.yaml"
    }
    failed = seal("render", "--krm", stdin=yaml.safe_dump(resource_list).encode())
    assert failed.code == 1
    result = yaml.safe_load(failed.stdout)
    assert result["items"][0]["kind"] == "Secret"  # unchanged: placeholders only
    (entry,) = result["results"]
    assert entry["severity"] == "error"
    assert entry["resourceRef"] == {"apiVersion": "v1", "kind": "Secret", "name": "s"}
    assert entry["field"] == {"path": "stringData.k"}
    assert entry["file"] == {"path": "secrets/s.yaml"}
    assert "VAULT_ADDR is not set" in entry["message"]
    # kustomize shows only the exit status: the error's one line goes to stderr as well.
    assert failed.stderr.splitlines() == [f"Error: {entry['message']}"]


def test_krm_settings_error_still_returns_the_resource_list(
    seal: Seal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's settings refused (a bad Application parameter): the items come back as they
    came in, the error in results and on stderr, exit 1."""
    monkeypatch.setenv("ARGOCD_APP_PARAMETERS", '[{"name": "mode", "string": "bogus"}]')
    items = list(yaml.safe_load_all(CM))
    resource_list = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
    }
    failed = seal("render", "--krm", stdin=yaml.safe_dump(resource_list).encode())
    assert failed.code == 1
    result = yaml.safe_load(failed.stdout)
    assert result["items"] == items
    (entry,) = result["results"]
    assert entry == {"message": "the plugin parameter 'mode' must be inline or reference",
                     "severity": "error"}  # fmt: skip
    assert failed.stderr.splitlines() == [f"Error: {entry['message']}"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomization_is_built_first(seal: Seal, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text("namespace: shop\nresources: [cm.yaml]\n")
    (app / "cm.yaml").write_text(CM)
    (doc,) = yaml.safe_load_all(seal.ok("render", "app").stdout)
    assert doc["metadata"]["namespace"] == "shop"  # kustomize's work, not ours


def test_chart_without_helm_is_a_clear_error(seal: Seal, tmp_path: Path) -> None:
    if shutil.which("helm"):
        pytest.skip("helm is installed: the chart would be rendered")
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    line = error_line(seal("render", "chart"))
    assert line == "Error: chart: holds a Helm chart (Chart.yaml), but helm is not on PATH"


def test_malformed_yaml_names_the_place_not_the_text(seal: Seal, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: Secret\nstringData: {k: 'hunter2\n")
    line = error_line(seal("render", "bad.yaml"))
    assert line.startswith("Error: bad.yaml: malformed YAML at line")
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("env", "config", "refused"),
    [
        ({"SEALOPS_MODE": "reference"}, {"mode": "inline"}, "mode inline would loosen"),
        ({"SEALOPS_DENY_PLAINTEXT": "true"}, {"denyPlaintext": "false"}, "denyPlaintext false"),
        ({"SEALOPS_DENY_PLAINTEXT": "true"}, {"denyPlaintext": "no"}, "denyPlaintext false"),
        ({}, {"denyPlaintext": "maybe"}, "denyPlaintext must be true or false"),
        ({}, {"mode": "reference", "connection": "v"}, None),  # tightening is fine
        ({"SEALOPS_MODE": "reference"}, {"mode": "reference", "connection": "v"}, None),
    ],
)
def test_a_function_config_may_only_tighten_the_operators_settings(
    seal: Seal, tmp_path: Path, env: dict[str, str], config: dict[str, str], refused: str | None
) -> None:
    """kpt's functionConfig and kustomize's plugin config, like an Argo CD Application's
    parameters: the run's mode and deny-plaintext are a floor."""
    items = list(yaml.safe_load_all(CM))
    resource_list = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                     "items": items, "functionConfig": {"kind": "ConfigMap", "data": config}}  # fmt: skip
    plugin = tmp_path / "plugin.yaml"
    plugin.write_text(yaml.safe_dump({"kind": "SealopsRender", **config}))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SEALOPS_", "VAULT_"))}

    def run(*args: str, stdin: bytes) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sealer", "render", *args], input=stdin.decode(),
            env={**clean, **env}, capture_output=True, text=True, cwd=tmp_path, timeout=60,
        )  # fmt: skip

    runs = {
        "krm": run("--krm", stdin=yaml.safe_dump(resource_list).encode()),
        "plugin": run("--kustomize-plugin", str(plugin), stdin=CM.encode()),
    }
    for how, done in runs.items():
        if refused is None:
            assert done.returncode == 0, (how, done.stderr)
        else:
            assert done.returncode == 1 and refused in done.stderr, (how, done.stderr)
            assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("spelling", ["true", "yes", "1", "on", "True"])
def test_a_function_config_turns_deny_plaintext_on_however_it_spells_it(
    seal: Seal, spelling: str
) -> None:
    plain = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\nstringData: {k: v4lue}\n"
    )
    resource_list = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                     "items": list(yaml.safe_load_all(plain)),
                     "functionConfig": {"kind": "ConfigMap", "data": {"denyPlaintext": spelling}}}  # fmt: skip
    failed = seal("render", "--krm", stdin=yaml.safe_dump(resource_list).encode())
    assert failed.code == 1 and "holds a literal value" in failed.stderr


def test_the_operators_connection_wins_over_a_function_configs(
    seal: Seal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARGOCD_APP_PARAMETERS", "[]")
    resource_list = {"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                     "items": list(yaml.safe_load_all(SECRET)),
                     "functionConfig": {"kind": "ConfigMap", "data": {
                         "mode": "reference", "connection": "from-config"}}}  # fmt: skip
    out = seal.ok(
        "render", "--krm", "--connection", "operators", stdin=yaml.safe_dump(resource_list).encode()
    )
    (item,) = yaml.safe_load(out.stdout)["items"]
    assert item["spec"]["connectionRef"]["name"] == "operators"
