"""Sealing a Secret the controller wrote: its controller-owned labels and annotations stay out.

``kubectl get secret db -o yaml | seal`` of a Secret sealops manages carries
``sealops.dev/managed-by``, ``sealops.dev/owned-by``, ``sealops.dev/data-hash``, … and the
server-set fields of a live object. The controller refuses template metadata holding keys under
``sealops.dev/`` (and Bitnami's key label), so ``seal`` leaves them out of the template (and out
of the SealedSecret's own metadata), silently, by the same rule the controller checks
(:func:`sealer.manifests.reserved_key`, imported by ``controller.secretwriter``).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from click.testing import CliRunner

import controller.secretwriter
from controller.keyring import key_secret
from sealer.api import SEALED_SECRETS, SECRETS
from sealer.cli.app import cli
from sealer.manifests import load_documents, parse_secret, reserved_key, template_metadata
from sealer.render.reference import ConnectionRef, to_vault_secret
from tests.unit.controller.conftest import Clock, Harness, small_key
from tests.unit.fakekube import FakeKube

RESERVED = [
    pytest.param("labels", "sealops.dev/managed-by", id="managed-by: the writer's label"),
    pytest.param("labels", "sealops.dev/sealing-key", id="sealing-key: a key Secret's label"),
    pytest.param("labels", "sealedsecrets.bitnami.com/sealed-secrets-key", id="bitnami-key-label"),
    pytest.param("labels", "sealops.dev/anything-new", id="any label under the prefix"),
    pytest.param("annotations", "sealops.dev/owned-by", id="owned-by: the owner's claim"),
    pytest.param("annotations", "sealops.dev/data-hash", id="data-hash: drift state"),
    pytest.param("annotations", "sealops.dev/data-keys", id="data-keys: Merge's keys"),
    pytest.param("annotations", "sealops.dev/managed", id="managed: the takeover opt-in"),
    pytest.param("annotations", "sealops.dev/key-origin", id="key-origin: a made key's mark"),
]

KEPT = [
    pytest.param("labels", "app", id="a plain label"),
    pytest.param("labels", "app.kubernetes.io/name", id="a well-known label"),
    pytest.param("annotations", "example.com/sealops.dev/x", id="prefix not at the start"),
    pytest.param("annotations", "sealops.dev", id="the bare domain, no slash"),
    pytest.param("labels", "sealedsecrets.bitnami.com/other", id="another bitnami label"),
    pytest.param("annotations", "argocd.argoproj.io/sync-wave", id="a tool's annotation"),
]


def _secret(kind: str, key: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop", kind: {key: "v"}},
        "data": {"password": base64.b64encode(b"pw").decode()},
    }


@pytest.mark.parametrize(("kind", "key"), RESERVED)
def test_reserved_keys_are_left_out_of_the_template(kind: str, key: str) -> None:
    assert reserved_key(key)
    meta = template_metadata(parse_secret(_secret(kind, key), source="-"))
    assert key not in meta.get(kind, {})


@pytest.mark.parametrize(("kind", "key"), KEPT)
def test_other_keys_are_kept_in_the_template(kind: str, key: str) -> None:
    assert not reserved_key(key)
    meta = template_metadata(parse_secret(_secret(kind, key), source="-"))
    assert meta[kind] == {key: "v"}


def test_the_controller_checks_the_same_rule() -> None:
    """One rule, in sealer: the writer imports it rather than keeping its own copy."""
    assert controller.secretwriter.reserved_key is reserved_key


# What `kubectl get secret db -n shop -o yaml` prints for a Secret the controller wrote.
EXPORTED = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  uid: 6f1c2d3e-0000-4000-8000-000000000001
  resourceVersion: "4711"
  creationTimestamp: "2026-11-30T10:00:00Z"
  managedFields: [{manager: sealops, operation: Update}]
  ownerReferences:
  - {apiVersion: sealops.dev/v1alpha1, kind: SealedSecret, name: db, uid: u-1, controller: true}
  labels:
    app: shop
    sealops.dev/managed-by: sealops
  annotations:
    sealops.dev/owned-by: SealedSecret/db
    sealops.dev/data-hash: hmac-sha256:0123abcd
    team.example/owner: shop
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"pw"}}'
type: Opaque
data:
  password: cHc=
"""


def test_sealing_an_exported_managed_secret_gives_one_the_controller_accepts(
    tmp_path: Any,
) -> None:
    key = small_key(1)
    cert = tmp_path / "cert.pem"
    cert.write_bytes(key.certificate_pem())
    result = CliRunner().invoke(cli, ["--cert", str(cert)], input=EXPORTED)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    (sealed,) = load_documents(result.stdout, source="-")
    meta = sealed["metadata"]
    assert not [k for k in meta.get("annotations", {}) if k.startswith("sealops.dev/owned")]
    assert "sealops.dev/data-hash" not in meta.get("annotations", {})
    for field in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        assert field not in meta
    assert "ownerReferences" not in meta
    template = sealed["spec"]["template"]["metadata"]
    assert template == {
        "labels": {"app": "shop"},
        "annotations": {"team.example/owner": "shop"},
    }
    assert "last-applied" not in result.stdout

    kube = FakeKube()
    harness = Harness(kube, Clock())
    kube.put(SECRETS, key_secret(key, name="sealops-key-1", namespace="sealops-system"))
    harness.keystore.load()
    verdict = harness.sealed.reconcile(kube.put(SEALED_SECRETS, sealed)).verdict
    assert verdict.ready, verdict.message
    written = kube.find(SECRETS, "shop", "db")
    assert written is not None
    assert written["metadata"]["labels"]["app"] == "shop"
    assert written["metadata"]["annotations"]["team.example/owner"] == "shop"


@pytest.mark.parametrize(("kind", "key"), RESERVED)
def test_seal_render_reference_leaves_them_out_of_the_vault_secret(kind: str, key: str) -> None:
    """`seal render --mode reference` turns a Secret into a VaultSecret whose target template
    carries its labels and annotations: the same rule applies there."""
    secret = _secret(kind, key)
    secret["metadata"].setdefault("labels", {})["app"] = "shop"
    vs = to_vault_secret(
        secret, filled={}, generic_location=None, connection=ConnectionRef("vault")
    )
    template = vs["spec"]["target"]["template"].get("metadata", {})
    assert key not in template.get(kind, {}) and key not in vs["metadata"].get(kind, {})
    assert template["labels"] == {"app": "shop"}
