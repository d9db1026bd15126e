"""Examples 04, 05 and 07: ``seal render`` against a real OpenBao, as Argo CD's plugin sidecar
and as kustomize's plugin run it."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.openbao import OpenBao
from tests.argocd_cmp import Application, discover, environment, generate
from tests.integration.examples.conftest import ROOT, Example

pytestmark = pytest.mark.integration

PLUGIN = yaml.safe_load((ROOT / "deploy" / "argocd" / "plugin.yaml").read_text())


def vault_env(bao: OpenBao) -> dict[str, str]:
    return {"VAULT_ADDR": bao.address, "VAULT_TOKEN": bao.root_token}


def by_kind(docs: list[Any]) -> dict[str, Any]:
    return {d["kind"]: d for d in docs}


def cmp_generate(
    ex: Example, application: str, sidecar_env: dict[str, str], *, extra: str = ""
) -> subprocess.CompletedProcess[bytes]:
    """Run plugin.yaml's ``discover`` and ``generate`` as argocd-cmp-server does for
    ``application`` (:mod:`tests.argocd_cmp`): in a copy of the app's directory, with its plugin
    env and parameters on top of the sidecar's own env."""
    manifest = ex.yaml(application)
    source = manifest["spec"]["source"]
    assert source["plugin"]["name"] == f"{PLUGIN['metadata']['name']}-{PLUGIN['spec']['version']}"
    work = Path(tempfile.mkdtemp(dir=ex.dir.parent.parent)) / manifest["metadata"]["name"]
    shutil.copytree(ROOT / source["path"], work)
    if extra:
        (work / "extra.yaml").write_text(extra)
    env = environment({**ex.env, **sidecar_env}, Application.from_manifest(manifest))
    assert discover(PLUGIN["spec"], work, env), "the plugin's discover must match the app"
    return generate(PLUGIN["spec"], work, env)


def generated(done: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr.decode()
    return by_kind(list(yaml.safe_load_all(done.stdout)))


def test_04_argocd_cmp(example: Any, bao: OpenBao) -> None:
    ex = example("04-argocd-cmp", **vault_env(bao))
    ex.run()
    values = {"API_KEY": "example-api-key", "WEBHOOK_SECRET": "example-webhook-secret"}

    inline = by_kind(ex.docs("rendered-inline.yaml"))
    assert set(inline) == {"ConfigMap", "Deployment", "Secret"}
    assert inline["Secret"]["stringData"] == values
    reference = by_kind(ex.docs("rendered-reference.yaml"))
    assert set(reference) == {"ConfigMap", "Deployment", "VaultSecret"}
    refs = {e["key"]: e["ref"] for e in reference["VaultSecret"]["spec"]["data"]}
    assert refs == {
        "API_KEY": "secret/shop/payments#api_key",
        "WEBHOOK_SECRET": "secret/shop/payments#webhook_secret",
    }
    assert reference["VaultSecret"]["spec"]["connectionRef"]["name"] == "vault"
    assert "example-" not in ex.path("rendered-reference.yaml").read_text()

    # The Applications, through the plugin's own generate command.
    sidecar = vault_env(bao)
    assert generated(cmp_generate(ex, "application-inline.yaml", sidecar)) == inline
    by_reference = cmp_generate(ex, "application-reference.yaml", sidecar)
    assert generated(by_reference) == reference
    assert b"example-" not in by_reference.stdout
    # Its env asks for deny-plaintext: a Secret with a literal value fails the render.
    literal = "apiVersion: v1\nkind: Secret\nmetadata: {name: x, namespace: shop}\n"
    literal += "stringData: {k: literal}\n"
    refused = cmp_generate(ex, "application-reference.yaml", sidecar, extra=literal)
    assert refused.returncode != 0 and refused.stdout == b""
    assert b"Secret shop/x" in refused.stderr, refused.stderr
    # The sidecar's settings win: set there, they hold for the inline Application too, which
    # asks for nothing.
    floor = {**sidecar, "SEALOPS_MODE": "reference", "SEALOPS_CONNECTION": "vault"}
    assert generated(cmp_generate(ex, "application-inline.yaml", floor)) == reference
    strict = {**sidecar, "SEALOPS_DENY_PLAINTEXT": "true"}
    refused = cmp_generate(ex, "application-inline.yaml", strict, extra=literal)
    assert refused.returncode != 0 and refused.stdout == b""
    assert b"Secret shop/x" in refused.stderr, refused.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_05_kustomize_plugin(example: Any, bao: OpenBao) -> None:
    ex = example("05-kustomize-plugin", **vault_env(bao))
    ex.run()
    password = "example-db-password"

    generated = by_kind(ex.docs("generated.yaml"))
    assert generated["Secret"]["metadata"]["namespace"] == "shop"  # kustomize went on with it
    assert generated["Secret"]["stringData"] == {"username": "inventory", "password": password}
    assert generated["Deployment"]["metadata"]["namespace"] == "shop"

    transformed = by_kind(ex.docs("transformed.yaml"))
    assert transformed["Secret"]["stringData"]["password"] == password
    pod = transformed["Deployment"]["spec"]["template"]
    digest = hashlib.sha256(password.encode()).hexdigest()
    assert pod["metadata"]["annotations"]["checksum/db"] == digest
    assert pod["spec"]["containers"][0]["env"] == [{"name": "DB_USER", "value": "inventory"}]

    # The KRM function as kustomize runs it: the resources and render.yaml as functionConfig in
    # a ResourceList to krm/seal-render-krm.sh (and with kustomize itself where it is installed).
    secret = {**ex.yaml("krm/secret.yaml")}
    secret["metadata"]["namespace"] = "shop"
    resource_list = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": [secret],
        "functionConfig": ex.yaml("krm/render.yaml"),
    }
    done = subprocess.run(
        ["./seal-render-krm.sh"],
        input=yaml.safe_dump(resource_list).encode(),
        cwd=ex.path("krm"),
        env=ex.env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    (vault_secret,) = yaml.safe_load(done.stdout)["items"]
    from tests.harness import kustomize_binary

    kustomize = kustomize_binary()
    if kustomize:
        built = subprocess.run(
            [kustomize, "build", "--enable-alpha-plugins", "--enable-exec", "krm"],
            cwd=ex.dir,
            env=ex.env,
            capture_output=True,
            check=False,
        )
        assert built.returncode == 0, built.stderr.decode()
        (from_kustomize,) = yaml.safe_load_all(built.stdout)
        assert from_kustomize == vault_secret
    assert vault_secret["kind"] == "VaultSecret"
    assert vault_secret["metadata"]["namespace"] == "shop"
    assert {e["key"]: e["ref"] for e in vault_secret["spec"]["data"]} == {
        "username": "secret/shop/inventory-db#username",
        "password": "secret/shop/inventory-db#password",
    }
    assert vault_secret["spec"]["connectionRef"]["name"] == "vault"
    assert password.encode() not in done.stdout

    out = ex.yaml("resource-list.out.yaml")
    assert out["kind"] == "ResourceList"
    assert out["items"][0]["data"] == {"db_user": "inventory"}


def test_07_migrate_from_argocd_vault_plugin(example: Any, bao: OpenBao) -> None:
    ex = example("07-migrate-from-argocd-vault-plugin", **vault_env(bao))
    out = ex.run()
    assert "same render" in out
    assert (
        ex.path("rendered-with-avp-env.yaml").read_bytes() == ex.path("rendered.yaml").read_bytes()
    )

    docs = by_kind(ex.docs("rendered.yaml"))
    secret = docs["Secret"]
    assert {k: base64.b64decode(v) for k, v in secret["data"].items()} == {
        "username": b"orders",
        "password": b"example-orders-pass-2",
    }
    assert secret["stringData"] == {"previous-password": "example-orders-pass-1"}  # version 1
    deployment = docs["Deployment"]
    assert deployment["spec"]["replicas"] == 3  # jsonParse: a number, not "3"
    pod = deployment["spec"]["template"]
    digest = hashlib.sha256(b"example-orders-pass-2").hexdigest()
    assert pod["metadata"]["annotations"]["checksum/orders-db"] == digest
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == "256Mi"
    assert docs["ConfigMap"] == ex.yaml("app/configmap.yaml")  # ignored: untouched

    # Reference mode refuses the placeholders outside Secrets, naming one, leaking nothing.
    error = ex.path("reference-error.txt").read_text()
    assert error.startswith("Error: ") and "Deployment shop/orders" in error, error
    assert "example-orders" not in error
    vault_secret = ex.yaml("orders-db.vaultsecret.yaml")
    assert vault_secret["kind"] == "VaultSecret"
    assert vault_secret["metadata"] == {"name": "orders-db", "namespace": "shop"}
    refs = {e["ref"] for e in vault_secret["spec"]["data"]}
    assert refs == {
        "secret/shop/orders-db#username",
        "secret/shop/orders-db#password",
        "secret/shop/orders-db#password#1",
    }
    assert "example-orders" not in ex.path("orders-db.vaultsecret.yaml").read_text()
