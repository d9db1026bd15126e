"""Names in user objects are refused by the CRDs' schemas, so ``kubectl apply`` fails early.

The attack (issue 10): a tenant with ``edit`` in one namespace puts a traversal into any field
that names a Kubernetes object (``spec.target.name: ../../team-b/secrets/db``,
``auth.appRole.secretRef.name: ../../sealops-system/secrets/<key>``,
``auth.kubernetes.serviceAccountName: ../../kube-system/serviceaccounts/<sa>``,
``connectionRef.name``, ``rolloutRestartTargets[].name``) and the controller pastes it into an
API path. The controller's request builder refuses such names (tests/unit/test_kube_names.py);
these tests show the first line of defence: with the real CRDs from ``deploy/crds`` loaded, the
API server (here the emulator, which applies ``pattern``/``maxLength``/``enum`` as the real
server does, with Go's ``$``) refuses every such object with 422 naming the field, whatever the
spelling of the name, and accepts every valid one.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sealer.api import CLUSTER_VAULT_CONNECTIONS, VAULT_CONNECTIONS, VAULT_SECRETS
from sealer.kube import KubeInvalid, KubeNotFound
from tests.integration.security.conftest import Cluster

pytestmark = pytest.mark.integration

REFS = {
    "VaultSecret": VAULT_SECRETS,
    "VaultConnection": VAULT_CONNECTIONS,
    "ClusterVaultConnection": CLUSTER_VAULT_CONNECTIONS,
}
API = "sealops.dev/v1alpha1"


def _vault_secret() -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "VaultSecret",
        "metadata": {"name": "app"},
        "spec": {
            "connectionRef": {"kind": "VaultConnection", "name": "vault"},
            "data": [{"key": "password", "ref": "secret/app/db#password"}],
            "target": {"name": "app-db"},
            "rolloutRestartTargets": [{"kind": "Deployment", "name": "web"}],
        },
    }


def _connection(kind: str, auth: str) -> dict[str, Any]:
    methods: dict[str, Any] = {
        "appRole": {"roleId": "app", "secretRef": {"name": "approle", "key": "secret-id"}},
        "token": {"secretRef": {"name": "vault-token", "key": "token"}},
        "kubernetes": {"role": "app", "serviceAccountName": "app"},
    }
    spec: dict[str, Any] = {
        "address": "https://vault.example:8200",
        "namespace": "team-a/apps",
        "caSecretRef": {"name": "vault-ca", "key": "ca.crt"},
        "auth": {auth: methods[auth]},
    }
    if kind == "ClusterVaultConnection":
        spec["allowedNamespaces"] = ["staging", "team-a"]
    return {"apiVersion": API, "kind": kind, "metadata": {"name": "vault"}, "spec": spec}


# Every field that takes a Kubernetes name: (object, its auth method or "", field path, rule).
FIELDS: list[tuple[str, str, str, str]] = [
    ("VaultSecret", "", "spec.connectionRef.name", "name"),
    ("VaultSecret", "", "spec.target.name", "name"),
    ("VaultSecret", "", "spec.rolloutRestartTargets[0].name", "name"),
    ("VaultSecret", "", "spec.data[0].key", "key"),
    *[
        (kind, auth, field, rule)
        for kind in ("VaultConnection", "ClusterVaultConnection")
        for auth, field, rule in (
            ("appRole", "spec.caSecretRef.name", "name"),
            ("appRole", "spec.caSecretRef.key", "key"),
            ("appRole", "spec.auth.appRole.secretRef.name", "name"),
            ("appRole", "spec.auth.appRole.secretRef.key", "key"),
            ("token", "spec.auth.token.secretRef.name", "name"),
            ("token", "spec.auth.token.secretRef.key", "key"),
            ("kubernetes", "spec.auth.kubernetes.serviceAccountName", "name"),
        )
    ],
    ("ClusterVaultConnection", "appRole", "spec.allowedNamespaces[0]", "glob"),
]

# (value, why) refused by each rule: traversal spellings first, then the rule's other limits.
REFUSED: dict[str, list[tuple[str, str]]] = {
    "name": [
        ("../../kube-system/secrets/x", "the issue's traversal"),
        ("..", "the parent segment"),
        ("a/b", "a slash"),
        ("%2e%2e", "percent-encoded '..'"),
        ("..%2f", "'..' and an encoded slash"),
        ("Web", "upper case"),
        ("-web", "a leading '-'"),
        ("web.", "a trailing '.'"),
        ("web\n", "a trailing newline (Go's $ ends the text)"),
        ("we b", "a space"),
        ("\u0430pp", "a Cyrillic a"),
        ("a" * 254, "over 253 characters"),
        ("", "empty"),
    ],
    "key": [
        ("../x", "a slash"),
        ("%2e%2e", "'%'"),
        ("a b", "a space"),
        ("key\n", "a trailing newline"),
        ("p\u0430ss", "a Cyrillic a"),
        ("a" * 254, "over 253 characters"),
        ("", "empty"),
    ],
    "glob": [
        ("../kube-system", "a traversal"),
        ("team-[ab]", "a character class: only * and ? are globs"),
        ("Team-*", "upper case"),
        ("a.b", "a namespace has no '.'"),
        ("team\n", "a trailing newline"),
        ("a" * 64, "over 63 characters"),
    ],
}

ACCEPTED: dict[str, list[tuple[str, str]]] = {
    "name": [
        ("db", "plain"),
        ("db.credentials-1", "dots and dashes"),
        ("1db", "a leading digit"),
        ("a" * 253, "exactly 253 characters"),
    ],
    "key": [
        ("tls.crt", "a dot"),
        (".dockerconfigjson", "a leading dot"),
        ("DB_PASSWORD", "upper case and '_'"),
        ("a" * 253, "exactly 253 characters"),
    ],
    "glob": [
        ("prod", "an exact name"),
        ("team-*", "a prefix glob"),
        ("team-?", "one character"),
        ("*", "every namespace"),
    ],
}


def _object(kind: str, auth: str) -> dict[str, Any]:
    return _vault_secret() if kind == "VaultSecret" else _connection(kind, auth)


def _parts(field: str) -> list[str | int]:
    """``spec.a[0].b`` -> ``["spec", "a", 0, "b"]``."""
    parts: list[str | int] = []
    for part in field.split("."):
        if "[" in part:
            name, index = part.rstrip("]").split("[")
            parts += [name, int(index)]
        else:
            parts.append(part)
    return parts


def _set(doc: dict[str, Any], field: str, value: str) -> None:
    *path, last = _parts(field)
    node: Any = doc
    for part in path:
        node = node[part]
    node[last] = value


def _get(doc: dict[str, Any], field: str) -> Any:
    node: Any = doc
    for part in _parts(field):
        node = node[part]
    return node


def _create(cluster: Cluster, doc: dict[str, Any]) -> dict[str, Any]:
    ref = REFS[doc["kind"]]
    return cluster.kube.create(ref, "prod" if ref.namespaced else None, doc)


REFUSAL_CASES = [
    (kind, auth, field, value, why)
    for kind, auth, field, rule in FIELDS
    for value, why in REFUSED[rule]
]
ACCEPTED_CASES = [
    (kind, auth, field, value, why)
    for kind, auth, field, rule in FIELDS
    for value, why in ACCEPTED[rule]
]


def _id(case: tuple[str, str, str, str, str]) -> str:
    return f"{case[0]}-{case[2]}-{case[4]}"


def test_every_field_refuses_every_bad_name(cluster: Cluster) -> None:
    """The whole table, through the Python client, against one emulator (one per case would
    cost a CRD load each): each object is refused with 422 naming the field, and not stored."""
    failures = []
    for i, (kind, auth, field, value, why) in enumerate(REFUSAL_CASES):
        doc = _object(kind, auth)
        doc["metadata"]["name"] = f"refused-{i}"
        _set(doc, field, value)
        try:
            _create(cluster, doc)
        except KubeInvalid as exc:
            if f"{field}: Invalid value" not in str(exc):
                failures.append(f"{kind} {field} ({why}): 422 without the field: {exc}")
            continue
        failures.append(f"{kind} {field} ({why}): {value[:20]!r} was accepted")
    assert failures == [], "\n".join(failures)
    assert len(REFUSAL_CASES) > 100  # 4 + 2*7 + 1 fields, each with every variant of its rule


@pytest.mark.parametrize(
    ("kind", "auth", "field", "value", "why"),
    [c for c in REFUSAL_CASES if c[4] in ("the issue's traversal", "a traversal")],
    ids=[_id(c) for c in REFUSAL_CASES if c[4] in ("the issue's traversal", "a traversal")],
)
def test_the_issues_traversal_is_refused_in_each_field(
    cluster: Cluster, kind: str, auth: str, field: str, value: str, why: str
) -> None:
    """One test per field for the attack itself, so a report names the field that let it in."""
    doc = _object(kind, auth)
    _set(doc, field, value)
    with pytest.raises(KubeInvalid) as info:
        _create(cluster, doc)
    assert info.value.status == 422
    assert f"{field}: Invalid value" in str(info.value), why
    ref = REFS[kind]
    with pytest.raises(KubeNotFound):
        cluster.kube.get(ref, "prod" if ref.namespaced else None, doc["metadata"]["name"])


def test_every_field_accepts_valid_names(cluster: Cluster) -> None:
    """The same fields take every valid name unchanged (the patterns are not too tight)."""
    failures = []
    for i, (kind, auth, field, value, why) in enumerate(ACCEPTED_CASES):
        doc = _object(kind, auth)
        doc["metadata"]["name"] = f"accepted-{i}"
        _set(doc, field, value)
        try:
            made = _create(cluster, doc)
        except KubeInvalid as exc:
            failures.append(f"{kind} {field} ({why}): refused: {exc}")
            continue
        if _get(made, field) != value:
            failures.append(f"{kind} {field} ({why}): stored as {_get(made, field)!r}")
    assert failures == [], "\n".join(failures)
    assert len(ACCEPTED_CASES) == 4 * len(FIELDS)


ENUMS: list[tuple[str, str, str, str]] = [
    ("spec.connectionRef.kind", "Secret", "a connection is one of the two connection kinds", ""),
    ("spec.rolloutRestartTargets[0].kind", "Pod", "only Deployment, StatefulSet, DaemonSet", ""),
    ("spec.rolloutRestartTargets[0].kind", "Secret", "not a workload", ""),
]


@pytest.mark.parametrize(
    ("field", "value", "why", "_"), ENUMS, ids=[e[0] + "=" + e[1] for e in ENUMS]
)
def test_kinds_are_enums(cluster: Cluster, field: str, value: str, why: str, _: str) -> None:
    doc = _vault_secret()
    _set(doc, field, value)
    with pytest.raises(KubeInvalid) as info:
        _create(cluster, doc)
    assert f"{field}:" in str(info.value), why


@pytest.mark.parametrize(
    ("value", "why"),
    [("team\r\nX-Injected: 1", "CR LF in a header value"), ("team a", "a space"), ("", "empty")],
    ids=["crlf", "space", "empty"],
)
def test_the_vault_namespace_cannot_inject_a_header(cluster: Cluster, value: str, why: str) -> None:
    """``spec.namespace`` becomes the X-Vault-Namespace header of every Vault request."""
    doc = _connection("VaultConnection", "token")
    doc["spec"]["namespace"] = value
    with pytest.raises(KubeInvalid) as info:
        _create(cluster, doc)
    assert "spec.namespace:" in str(info.value), why


# -- kubectl apply fails early ------------------------------------------------------------------

KUBECTL = shutil.which("kubectl")

APPLY_CASES: list[tuple[str, str, str, str, str]] = [
    ("VaultSecret", "", "spec.target.name", "../../team-b/secrets/db", "Merge into another ns"),
    (
        "VaultConnection",
        "appRole",
        "spec.auth.appRole.secretRef.name",
        "../../sealops-system/secrets/sealops-key",
        "send the sealing key as secret_id",
    ),
    (
        "VaultConnection",
        "kubernetes",
        "spec.auth.kubernetes.serviceAccountName",
        "../../kube-system/serviceaccounts/admin",
        "a kube-system token",
    ),
    ("VaultSecret", "", "spec.connectionRef.name", "../../team-b/vaultconnections/x", "borrow"),
    (
        "VaultSecret",
        "",
        "spec.rolloutRestartTargets[0].name",
        "../../team-b/deployments/web",
        "restart another team's workload",
    ),
]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
@pytest.mark.parametrize(
    ("kind", "auth", "field", "value", "why"), APPLY_CASES, ids=[c[2] for c in APPLY_CASES]
)
def test_kubectl_apply_refuses(
    cluster: Cluster, tmp_path: Path, kind: str, auth: str, field: str, value: str, why: str
) -> None:
    doc = _object(kind, auth)
    doc["metadata"]["namespace"] = "prod"
    _set(doc, field, value)
    manifest = tmp_path / "object.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(cluster.kubeconfig), "--cache-dir",
         str(tmp_path / "cache"), "apply", "-f", str(manifest)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0, why
    assert f'{kind} "{doc["metadata"]["name"]}" is invalid' in done.stderr, done.stderr
    assert f"{field}: Invalid value" in done.stderr, done.stderr
    with pytest.raises(KubeNotFound):
        cluster.kube.get(REFS[kind], "prod", doc["metadata"]["name"])


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_apply_takes_a_valid_object(cluster: Cluster, tmp_path: Path) -> None:
    doc = _vault_secret()
    doc["metadata"]["namespace"] = "prod"
    manifest = tmp_path / "object.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(cluster.kubeconfig), "--cache-dir",
         str(tmp_path / "cache"), "apply", "-f", str(manifest)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert cluster.kube.get(VAULT_SECRETS, "prod", "app")["spec"]["target"] == {
        "name": "app-db",
        "creationPolicy": "Owner",
    }
