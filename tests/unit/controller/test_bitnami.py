"""Bitnami's SealedSecrets reconciled in place, and the Secrets Bitnami made taken over, with a fake API.

The cases follow Bitnami's controller (pkg/controller/controller.go ``unseal``, and
``SealedSecret.Unseal`` for the template's skip-set-owner-references): its annotations count only
when exactly ``"true"``; a Secret it made (controller reference to the object) is the object's;
its ``Synced`` condition is written beside ``Ready``.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controller.bitnami import BitnamiSealedSecretReconciler
from sealer.api import (
    API_VERSION,
    BITNAMI_API_VERSION,
    BITNAMI_MANAGED,
    BITNAMI_NAMESPACE_WIDE,
    BITNAMI_PATCH,
    BITNAMI_SEALED_SECRETS,
    BITNAMI_SKIP_OWNER_REFERENCES,
    SEALED_SECRETS,
    SECRETS,
    Reason,
)
from sealer.envelope import Scope
from sealer.keys import KeyPair
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.controller.test_sealedsecrets import PLAIN, install_keys
from tests.unit.fakekube import FakeKube


@pytest.fixture
def bitnami(harness: Harness) -> BitnamiSealedSecretReconciler:
    install_keys(harness, small_key(1))
    return BitnamiSealedSecretReconciler(
        keyring=harness.keyring,
        keystore=harness.keystore,
        writer=harness.writer,
        reporter=harness.reporter,
        metrics=harness.metrics,
    )


def bitnami_body(
    kube: FakeKube,
    key: KeyPair,
    *,
    name: str = "db",
    scope: Scope = Scope.STRICT,
    annotations: dict[str, str] | None = None,
    **template: Any,
) -> dict[str, Any]:
    """A bitnami.com SealedSecret as kubeseal writes it (scope in Bitnami's annotations)."""
    doc = seal_secret(
        PlainSecret(name=name, namespace="prod", data=dict(PLAIN)), [key.recipient], scope=scope
    )
    meta = doc["metadata"]
    meta["annotations"] = {k: v for k, v in meta.get("annotations", {}).items()
                           if not k.startswith("sealops")}  # fmt: skip
    if scope is Scope.NAMESPACE_WIDE:
        meta["annotations"][BITNAMI_NAMESPACE_WIDE] = "true"
    doc["apiVersion"] = BITNAMI_API_VERSION
    doc["spec"]["template"].setdefault("metadata", {})["annotations"] = dict(annotations or {})
    doc["spec"]["template"].update(template)
    return kube.put(BITNAMI_SEALED_SECRETS, doc)


def secret(
    kube: FakeKube,
    *,
    owner: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Secret as Bitnami's controller (``owner``) or a person made it, with other keys."""
    meta: dict[str, Any] = {"name": "db", "namespace": "prod", "annotations": annotations or {}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": "SealedSecret",
                                    "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True}]  # fmt: skip
    data = {"password": base64.b64encode(PLAIN["password"]).decode(), "other": "a2VlcA=="}
    return kube.put(SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": data})


def values(kube: FakeKube) -> dict[str, bytes]:
    found = kube.find(SECRETS, "prod", "db")
    assert found is not None
    return {k: base64.b64decode(v) for k, v in found["data"].items()}


def refs(kube: FakeKube) -> list[tuple[str, str]]:
    found = kube.find(SECRETS, "prod", "db") or {}
    return [(r["apiVersion"], r["uid"]) for r in found["metadata"].get("ownerReferences") or []]


def conditions(kube: FakeKube) -> dict[str, dict[str, Any]]:
    body = kube.find(BITNAMI_SEALED_SECRETS, "prod", "db") or {}
    return {c["type"]: c for c in body["status"]["conditions"]}


def test_unseals_in_place_with_synced_beside_ready(
    bitnami: BitnamiSealedSecretReconciler, kube: FakeKube
) -> None:
    body = bitnami_body(kube, small_key(1), scope=Scope.NAMESPACE_WIDE)
    assert bitnami.reconcile(body).verdict.ready
    assert values(kube) == PLAIN
    assert refs(kube) == [(BITNAMI_API_VERSION, body["metadata"]["uid"])]
    status = (kube.find(BITNAMI_SEALED_SECRETS, "prod", "db") or {})["status"]
    assert status["conditions"][0]["type"] == "Synced", "Bitnami's CRD prints conditions[0]"
    synced = conditions(kube)["Synced"]
    assert (synced["status"], "reason" in synced, "message" in synced) == ("True", False, False)
    assert conditions(kube)["Ready"]["reason"] == Reason.UNSEALED
    assert status["observedGeneration"] == 1
    assert "secretName" not in status, "Bitnami's CRD would prune it"


def test_failure_is_synced_false_with_the_message(
    bitnami: BitnamiSealedSecretReconciler, kube: FakeKube
) -> None:
    bitnami.reconcile(bitnami_body(kube, small_key(1)))
    before = conditions(kube)["Synced"]
    assert not bitnami.reconcile(bitnami_body(kube, small_key(2))).verdict.ready
    synced, ready = conditions(kube)["Synced"], conditions(kube)["Ready"]
    assert (synced["status"], synced["message"]) == ("False", ready["message"])
    assert ready["reason"] == Reason.DECRYPT_FAILED
    assert synced["lastTransitionTime"] >= before["lastTransitionTime"]
    assert values(kube) == PLAIN, "the Secret is kept"


def test_a_secret_bitnami_made_is_taken_over_without_secret_not_owned(
    bitnami: BitnamiSealedSecretReconciler, kube: FakeKube
) -> None:
    body = bitnami_body(kube, small_key(1))
    uid = secret(kube, owner=body)["metadata"]["uid"]
    assert bitnami.reconcile(body).verdict.reason == Reason.UNSEALED
    after = kube.find(SECRETS, "prod", "db") or {}
    assert after["metadata"]["uid"] == uid
    assert refs(kube) == [(BITNAMI_API_VERSION, body["metadata"]["uid"])]
    assert after["metadata"]["annotations"]["sealops.dev/owned-by"] == "SealedSecret.bitnami.com/db"


def test_a_sealops_sealedsecret_adopts_the_secret_of_the_bitnami_one(
    harness: Harness, bitnami: BitnamiSealedSecretReconciler, kube: FakeKube
) -> None:
    old = bitnami_body(kube, small_key(1))
    uid = secret(kube, owner=old)["metadata"]["uid"]
    bitnami.reconcile(old)
    new = seal_secret(PlainSecret(name="db", namespace="prod", data=dict(PLAIN)),
                      [small_key(1).recipient])  # fmt: skip
    ours = kube.put(SEALED_SECRETS, new)
    kube.calls.clear()
    assert harness.sealed.reconcile(ours).verdict.reason == Reason.UNSEALED
    assert not [c for c in kube.calls if c[0] in ("delete", "create") and c[1] == "secrets"]
    assert (kube.find(SECRETS, "prod", "db") or {})["metadata"]["uid"] == uid
    assert refs(kube) == [(API_VERSION, ours["metadata"]["uid"])], "the controller ref swapped"
    # The Bitnami object never takes it back, even with Bitnami's managed annotation on it.
    kube.put(SECRETS, {**(kube.find(SECRETS, "prod", "db") or {})} | {"metadata": {
        **(kube.find(SECRETS, "prod", "db") or {})["metadata"],
        "annotations": {BITNAMI_MANAGED: "true"}}})  # fmt: skip
    verdict = bitnami.reconcile(kube.find(BITNAMI_SEALED_SECRETS, "prod", "db") or {}).verdict
    assert verdict.reason == Reason.SECRET_NOT_OWNED
    assert "can be deleted" in verdict.message
    assert refs(kube) == [(API_VERSION, ours["metadata"]["uid"])]


def test_adoption_needs_the_same_name_and_a_bitnami_controller(
    harness: Harness, kube: FakeKube
) -> None:
    install_keys(harness, small_key(1))
    other = {"apiVersion": "apps/v1", "metadata": {"name": "db", "uid": "u-apps"}}
    secret(kube, owner=other)
    doc = seal_secret(PlainSecret(name="db", namespace="prod", data=dict(PLAIN)),
                      [small_key(1).recipient])  # fmt: skip
    verdict = harness.sealed.reconcile(kube.put(SEALED_SECRETS, doc)).verdict
    assert verdict.reason == Reason.SECRET_NOT_OWNED, "only a bitnami.com owner is adopted"


# (Secret annotations, template annotations) -> (ready, other key kept, owner refs of ours)
ANNOTATION_CASES = [
    ({}, {}, False, False, None, "an unowned Secret without managed is not taken"),
    ({BITNAMI_MANAGED: "True"}, {}, False, False, None, "managed must be exactly true"),
    ({BITNAMI_MANAGED: "true"}, {}, True, False, "ours", "managed: taken over and owned"),
    ({BITNAMI_PATCH: "true"}, {}, True, True, "none", "patch: keys merged, ownership unchanged"),
    ({BITNAMI_PATCH: "yes"}, {}, False, False, None, "patch must be exactly true"),
    ({BITNAMI_PATCH: "true", BITNAMI_MANAGED: "true"}, {}, True, True, "ours",
     "patch and managed: merged and owned"),
    ({BITNAMI_MANAGED: "true"}, {BITNAMI_SKIP_OWNER_REFERENCES: "true"}, True, False, "none",
     "skip-set-owner-references on the template: no ownerReference"),
    ({BITNAMI_PATCH: "true", BITNAMI_MANAGED: "true"}, {BITNAMI_SKIP_OWNER_REFERENCES: "true"},
     True, True, "none", "patch, managed and skip: merged, not owned"),
    ({BITNAMI_MANAGED: "true"}, {BITNAMI_SKIP_OWNER_REFERENCES: "TRUE"}, True, False, "ours",
     "skip must be exactly true"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("on_secret", "on_template", "ready", "kept", "owned", "why"),
    ANNOTATION_CASES,
    ids=[
        "unowned",
        "managed-True",
        "managed",
        "patch",
        "patch-yes",
        "patch-managed",
        "managed-skip",
        "patch-managed-skip",
        "skip-TRUE",
    ],
)
def test_bitnami_annotations_choose_the_policy(
    bitnami: BitnamiSealedSecretReconciler,
    kube: FakeKube,
    on_secret: dict[str, str],
    on_template: dict[str, str],
    ready: bool,
    kept: bool,
    owned: str | None,
    why: str,
) -> None:
    secret(kube, annotations=on_secret)
    body = bitnami_body(kube, small_key(1), annotations=on_template)
    verdict = bitnami.reconcile(body).verdict
    assert verdict.ready is ready, why
    found = values(kube)
    if not ready:
        assert verdict.reason == Reason.SECRET_NOT_OWNED, why
        assert found == {"password": PLAIN["password"], "other": b"keep"}, "untouched"
        return
    assert {k: found[k] for k in PLAIN} == PLAIN, why
    assert ("other" in found) is kept, why
    expected = [(BITNAMI_API_VERSION, body["metadata"]["uid"])] if owned == "ours" else []
    assert refs(kube) == expected, why


def test_skip_set_owner_references_drops_the_reference_bitnami_set(
    bitnami: BitnamiSealedSecretReconciler, kube: FakeKube
) -> None:
    # Made by Bitnami's controller before the annotation was added to the template.
    body = bitnami_body(kube, small_key(1), annotations={BITNAMI_SKIP_OWNER_REFERENCES: "true"})
    secret(kube, owner=body)
    assert bitnami.reconcile(body).verdict.ready
    assert refs(kube) == [], "the Secret no longer goes with the SealedSecret"
    assert bitnami.reconcile(kube.find(BITNAMI_SEALED_SECRETS, "prod", "db") or {}).verdict.ready


def test_go_templates_render_as_bitnami_renders_them(
    bitnami: BitnamiSealedSecretReconciler, kube: FakeKube
) -> None:
    """Bitnami's template.data is Go text/template with Sprig over the values, in place."""
    templates = {
        "dsn": "{{ .user }}:{{ .password | b64enc }}",
        "tls": '{{ index . "user" | upper }}',
    }
    body = bitnami_body(kube, small_key(1), data=templates)
    assert bitnami.reconcile(body).verdict.ready
    found = kube.find(SECRETS, "prod", "db")
    assert found is not None
    data = {k: base64.b64decode(v) for k, v in found["data"].items()}
    assert data["dsn"] == b"admin:" + base64.b64encode(b"hunter2")
    assert data["tls"] == b"ADMIN"
    assert {k: data[k] for k in PLAIN} == PLAIN, "the values stay beside the rendered keys"


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ('{{ env "HOME" }}', "a function Bitnami does not allow"),
        ("{{ .password | nosuchfunc }}", "a function that does not exist"),
        ("{{ index .password 99 }}", "an error while running, next to a value"),
    ],
    ids=["env", "unknown", "runtime"],
)
def test_a_go_template_that_cannot_render_is_one_line_naming_the_field(
    bitnami: BitnamiSealedSecretReconciler, kube: FakeKube, template: str, why: str
) -> None:
    body = bitnami_body(kube, small_key(1), data={"dsn": template})
    verdict = bitnami.reconcile(body).verdict
    assert verdict.reason == Reason.INVALID_SPEC, why
    assert "template.data.dsn" in verdict.message and "\n" not in verdict.message, why
    assert "hunter2" not in verdict.message and "admin" not in verdict.message, why
    assert kube.find(SECRETS, "prod", "db") is None, why


def test_bitnami_objects_are_still_refused_by_the_sealops_kind(
    harness: Harness, kube: FakeKube
) -> None:
    install_keys(harness, small_key(1))
    body = bitnami_body(kube, small_key(1))
    assert harness.sealed.reconcile(body).verdict.reason == Reason.INVALID_SPEC
