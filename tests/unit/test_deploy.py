"""The ``deploy/`` tree: CRDs, the kustomize base and HA overlay, the Helm chart, the Dockerfile.

Fast and offline. CRD schemas are checked for the structural rules the API server enforces and
exercised with ``jsonschema`` the way the project's API emulator does (tests/data/crs: valid and
invalid custom resources, each saying why). ``kubectl kustomize`` renders the base and the overlay
when kubectl is installed. The chart's sources are checked here; test_chart_render.py renders it with
Helm's engine (helm-python-sdk).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
CRDS = DEPLOY / "crds"
CHART = DEPLOY / "helm" / "sealops"
CRS = ROOT / "tests" / "data" / "crs"
NAMESPACE = "sealops-system"

Doc = dict[str, Any]


def load_all(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@cache
def crds() -> dict[str, Doc]:
    """Every CustomResourceDefinition under deploy/crds, by name."""
    out: dict[str, Doc] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in load_all(path):
            if doc["kind"] == "CustomResourceDefinition":
                out[doc["metadata"]["name"]] = doc
    return out


SEALOPS_CRDS = [
    "sealedsecrets.sealops.dev",
    "vaultconnections.sealops.dev",
    "clustervaultconnections.sealops.dev",
    "vaultsecrets.sealops.dev",
]
PEERING_CRDS = ["clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"]


def version(crd: Doc) -> Doc:
    (only,) = crd["spec"]["versions"]
    assert isinstance(only, dict)
    return only


def schema_of(crd: Doc) -> Doc:
    schema = version(crd)["schema"]["openAPIV3Schema"]
    assert isinstance(schema, dict)
    return schema


# ---------------------------------------------------------------------------------------------
# Structural schemas
# https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema

# JSONSchemaProps fields the v1 API accepts (apiextensions-apiserver validation); $ref,
# patternProperties, definitions and friends are refused or pruned, so they have no place here.
ALLOWED_KEYS = {
    "description", "type", "format", "title", "default", "example", "externalDocs", "nullable",
    "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "maxProperties", "minProperties",
    "enum", "required", "items", "properties", "additionalProperties",
    "allOf", "anyOf", "oneOf", "not",
}  # fmt: skip
# Inside allOf/anyOf/oneOf/not only value validations may appear, never these.
JUNCTOR_FORBIDDEN = {"type", "description", "default", "additionalProperties", "nullable"}
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
    "object": dict,
    "array": list,
}


def walk(node: Doc, path: str = "") -> Iterator[tuple[str, Doc]]:
    """Every schema node with a dotted path (`items` as `[]`, `additionalProperties` as `*`)."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")


def structural_problems(schema: Doc, *, preserve_unknown_at: set[str]) -> list[str]:
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append("root: must be type object")
    if set(schema.get("properties", {}).get("metadata", {})) - {"type"}:
        problems.append("metadata: only name/generateName may be restricted; leave it bare")
    for path, node in walk(schema):
        where = path or "(root)"
        unknown = {k for k in node if not k.startswith("x-kubernetes-")} - ALLOWED_KEYS
        if unknown:
            problems.append(f"{where}: keys the API does not accept: {sorted(unknown)}")
        preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
        if "type" not in node and not preserve and "x-kubernetes-int-or-string" not in node:
            problems.append(f"{where}: no type")
        if preserve and path not in preserve_unknown_at:
            problems.append(
                f"{where}: x-kubernetes-preserve-unknown-fields outside {preserve_unknown_at}"
            )
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{where}: properties and additionalProperties together")
        for name in node.get("required", []):
            if name not in node.get("properties", {}):
                problems.append(f"{where}: required {name!r} is not a property")
        for junctor in JUNCTORS:
            branches = node.get(junctor, [])
            for branch in [branches] if isinstance(branches, dict) else branches:
                if set(branch) & JUNCTOR_FORBIDDEN:
                    problems.append(f"{where}.{junctor}: {sorted(set(branch) & JUNCTOR_FORBIDDEN)}")
                for name in [*branch.get("required", []), *branch.get("properties", {})]:
                    if name not in node.get("properties", {}):
                        problems.append(f"{where}.{junctor}: {name!r} is not a property")
        for key in node.get("x-kubernetes-list-map-keys", []):
            if key not in node.get("items", {}).get("required", []):
                problems.append(f"{where}: list-map key {key!r} must be required in items")
        if "enum" in node and "type" in node:
            wrong = [v for v in node["enum"] if not isinstance(v, PY_TYPES[node["type"]])]
            if wrong:
                problems.append(f"{where}: enum values {wrong} are not {node['type']}")
        if "default" in node:
            errors = list(validator(strip_extensions(node)).iter_errors(node["default"]))
            if errors:
                problems.append(f"{where}: default {node['default']!r}: {errors[0].message}")
    return problems


def strip_extensions(node: Any) -> Any:
    """The schema as the emulator hands it to jsonschema: x-kubernetes-* keys dropped."""
    if isinstance(node, dict):
        return {
            k: strip_extensions(v) for k, v in node.items() if not k.startswith("x-kubernetes-")
        }
    if isinstance(node, list):
        return [strip_extensions(v) for v in node]
    return node


def validator(schema: Doc) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


PRESERVE_UNKNOWN = {name: {"status.kopf"} for name in SEALOPS_CRDS} | {
    name: {"status"} for name in PEERING_CRDS
}


def obj(**props: Any) -> Doc:
    return {"type": "object", "properties": props}


STR: Doc = {"type": "string"}
# The checker itself, on schemas the API server would refuse: (id, schema, expected problem, why).
NOT_STRUCTURAL = [
    ("untyped-field", obj(spec=obj(a={})), "spec.a: no type", "every field needs a type"),
    (
        "properties-and-additional",
        obj(spec={**obj(a=STR), "additionalProperties": STR}),
        "spec: properties and additionalProperties together",
        "a map or a struct, not both",
    ),
    (
        "preserve-unknown-elsewhere",
        obj(spec={"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
        "spec: x-kubernetes-preserve-unknown-fields outside",
        "free-form only where allowed",
    ),
    (
        "type-in-junctor",
        obj(spec={**obj(a=STR), "anyOf": [{"type": "object"}]}),
        "spec.anyOf: ['type']",
        "junctors hold value validations only",
    ),
    (
        "junctor-names-unknown-field",
        obj(spec={**obj(a=STR), "anyOf": [{"required": ["b"]}]}),
        "spec.anyOf: 'b' is not a property",
        "junctor fields must exist outside",
    ),
    (
        "ref",
        obj(spec={"$ref": "#/definitions/x", "type": "object"}),
        "keys the API does not accept: ['$ref']",
        "no $ref in CRD schemas",
    ),
    (
        "bad-default",
        obj(spec={"type": "string", "enum": ["a"], "default": "b"}),
        "spec: default 'b'",
        "defaults must validate",
    ),
    (
        "required-unknown",
        obj(spec={**obj(a=STR), "required": ["b"]}),
        "spec: required 'b' is not a property",
        "a typo in required is never satisfiable",
    ),
    (
        "list-map-key-optional",
        obj(spec={"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["k"], "items": obj(k=STR)}),
        "list-map key 'k' must be required",
        "map-list keys must always be set",
    ),
    (
        "restricted-metadata",
        obj(metadata=obj(labels=obj())),
        "metadata: only name/generateName",
        "the API server owns metadata's schema",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "expected", "reason"),
    [case[1:] for case in NOT_STRUCTURAL],
    ids=[case[0] for case in NOT_STRUCTURAL],
)
def test_structural_checker_finds(schema: Doc, expected: str, reason: str) -> None:
    problems = structural_problems(schema, preserve_unknown_at=set())
    assert any(expected in p for p in problems), f"{reason}: got {problems}"


def test_crd_files_hold_exactly_the_expected_definitions() -> None:
    assert sorted(crds()) == sorted(SEALOPS_CRDS + PEERING_CRDS)
    for path in CRDS.glob("*.sealops.dev.yaml"):
        (doc,) = load_all(path)
        assert path.name == f"{doc['metadata']['name']}.yaml", "one file per CRD, named after it"


@pytest.mark.parametrize("name", SEALOPS_CRDS + PEERING_CRDS)
def test_crd_schema_is_structural(name: str) -> None:
    crd = crds()[name]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    names = crd["spec"]["names"]
    assert name == f"{names['plural']}.{crd['spec']['group']}"
    assert version(crd)["served"] is True
    assert version(crd)["storage"] is True
    problems = structural_problems(schema_of(crd), preserve_unknown_at=PRESERVE_UNKNOWN[name])
    assert problems == []
    jsonschema.Draft202012Validator.check_schema(strip_extensions(schema_of(crd)))


@dataclass(frozen=True)
class CrdCase:
    name: str
    scope: str
    short_names: tuple[str, ...]
    columns: tuple[str, ...]
    reason: str


CRD_CASES = [
    CrdCase(
        "sealedsecrets.sealops.dev",
        "Namespaced",
        ("ssec",),
        ("Ready", "Reason", "Age"),
        "Ready/Reason/Age printer columns; no short name of Bitnami's to clash with",
    ),
    CrdCase(
        "vaultconnections.sealops.dev",
        "Namespaced",
        ("vconn",),
        ("Address", "Ready", "Reason", "Age"),
        "a tenant's own connection",
    ),
    CrdCase(
        "clustervaultconnections.sealops.dev",
        "Cluster",
        ("cvconn",),
        ("Address", "Ready", "Reason", "Age"),
        "shared by the namespaces it allows",
    ),
    CrdCase(
        "vaultsecrets.sealops.dev",
        "Namespaced",
        ("vsec",),
        ("Ready", "Reason", "Last Sync", "Age"),
        "not 'vs': Istio's VirtualService has it",
    ),
]


def schema_at(schema: Doc, json_path: str) -> Doc | None:
    """The schema node a printer column's JSONPath reads, or None if the schema has no such field."""
    node: Doc | None = schema
    for part in re.findall(r"[^.\[]+(?:\[[^\]]*\])?", json_path):
        if node is None:
            return None
        name, filtered = re.subn(r"\[\?\(.*\)\]$", "", part)
        node = node.get("properties", {}).get(name)
        if node is not None and filtered:
            node = node.get("items")
    return node


@pytest.mark.parametrize("case", CRD_CASES, ids=[c.name for c in CRD_CASES])
def test_sealops_crd_names_columns_and_status(case: CrdCase) -> None:
    crd = crds()[case.name]
    spec, ver = crd["spec"], version(crd)
    assert spec["group"] == "sealops.dev"
    assert ver["name"] == "v1alpha1"
    assert spec["scope"] == case.scope, case.reason
    assert tuple(spec["names"]["shortNames"]) == case.short_names, case.reason
    assert spec["names"]["categories"] == ["sealops"]
    assert ver["subresources"] == {"status": {}}, "status is written through /status only"
    columns = {c["name"]: c for c in ver["additionalPrinterColumns"]}
    assert tuple(columns) == case.columns, case.reason
    assert columns["Age"] == {
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
    }
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    for column in columns.values():
        if column["jsonPath"].startswith(".metadata."):
            continue
        node = schema_at(schema_of(crd), column["jsonPath"])
        assert node is not None, f"{column['name']}: {column['jsonPath']} is not in the schema"
        assert node["type"] == "string", column


def test_short_names_are_unique() -> None:
    seen = [s for crd in crds().values() for s in crd["spec"]["names"].get("shortNames", [])]
    assert len(seen) == len(set(seen)) == len(SEALOPS_CRDS)


@pytest.mark.parametrize("name", PEERING_CRDS)
def test_peering_crds_have_no_status_subresource(name: str) -> None:
    # kopf writes its peers into the main resource's status; a status subresource would make the
    # API server drop those writes and peering would never see the other replicas.
    crd = crds()[name]
    assert crd["spec"]["group"] == "kopf.dev"
    assert version(crd)["name"] == "v1"
    assert "subresources" not in version(crd)


# ---------------------------------------------------------------------------------------------
# Sample custom resources against the schemas


def crd_for(obj: Doc) -> Doc:
    group, _, ver = obj["apiVersion"].partition("/")
    for crd in crds().values():
        if crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == obj["kind"]:
            assert version(crd)["name"] == ver
            return crd
    raise AssertionError(f"no CRD for {obj['apiVersion']} {obj['kind']}")


def errors_for(obj: Doc) -> list[jsonschema.ValidationError]:
    schema = strip_extensions(schema_of(crd_for(obj)))
    return list(validator(schema).iter_errors(obj))


@dataclass(frozen=True)
class Sample:
    path: Path
    where: str  # the field path the error is reported at; "" for valid samples
    reason: str

    @property
    def id(self) -> str:
        return self.path.stem


def samples(kind: str) -> list[Sample]:
    """Files in tests/data/crs/KIND, each opening with `# valid: WHY` or `# invalid at PATH: WHY`."""
    out = []
    for path in sorted((CRS / kind).glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        match = re.fullmatch(r"# (valid|invalid at (\S+)): (.+)", first)
        assert match, f"{path.name}: first line must say why it is {kind}"
        where = match[2] or ""
        out.append(Sample(path, "" if where == "(root)" else where, match[3]))
    return out


VALID, INVALID = samples("valid"), samples("invalid")


def test_every_kind_has_valid_and_invalid_samples() -> None:
    kinds = {"SealedSecret", "VaultConnection", "ClusterVaultConnection", "VaultSecret"}
    assert {yaml.safe_load(s.path.read_text())["kind"] for s in VALID} == kinds
    assert {yaml.safe_load(s.path.read_text())["kind"] for s in INVALID} == kinds


@pytest.mark.parametrize("sample", VALID, ids=[s.id for s in VALID])
def test_valid_resources_pass_their_crd_schema(sample: Sample) -> None:
    (obj,) = load_all(sample.path)
    assert [e.message for e in errors_for(obj)] == [], sample.reason


@pytest.mark.parametrize("sample", INVALID, ids=[s.id for s in INVALID])
def test_invalid_resources_fail_at_the_field_that_is_wrong(sample: Sample) -> None:
    (obj,) = load_all(sample.path)
    errors = errors_for(obj)
    assert errors, f"accepted, but {sample.reason}"
    paths = {".".join(str(p) for p in e.absolute_path) for e in errors}
    assert sample.where in paths, f"{sample.reason}: errors at {paths}"


# ---------------------------------------------------------------------------------------------
# kustomize base and HA overlay

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@cache
def kustomize(directory: str) -> tuple[Doc, ...]:
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(DEPLOY / directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def one(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def controller(docs: tuple[Doc, ...]) -> Doc:
    (container,) = one(docs, "Deployment", "sealops-controller")["spec"]["template"]["spec"][
        "containers"
    ]
    assert isinstance(container, dict)
    return container


CLUSTER_SCOPED = {
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterKopfPeering",
}
OVERLAYS = ["base", "overlays/ha", "overlays/network-policy"]


@needs_kubectl
@pytest.mark.parametrize("directory", OVERLAYS)
def test_controller_pod_is_locked_down(directory: str) -> None:
    docs = kustomize(directory)
    pod = one(docs, "Deployment", "sealops-controller")["spec"]["template"]["spec"]
    box = controller(docs)
    assert pod["serviceAccountName"] == "sealops-controller"
    assert pod["automountServiceAccountToken"] is True, "the controller needs its token"
    assert pod["enableServiceLinks"] is False, "no other Service's address in the environment"
    account = one(docs, "ServiceAccount", "sealops-controller")
    assert account["automountServiceAccountToken"] is False, "no other pod gets it by accident"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert box["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (tmp,) = box["volumeMounts"]
    assert tmp["mountPath"] == "/tmp"
    assert {"name": tmp["name"], "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"], (
        "/tmp is the only writable path, and it cannot fill the node's disk"
    )
    assert box["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    }
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod), "no host namespaces"


@needs_kubectl
@pytest.mark.parametrize("directory", OVERLAYS)
def test_controller_entry_point_probes_and_service(directory: str) -> None:
    docs = kustomize(directory)
    box = controller(docs)
    assert box["command"] == ["sealops-controller"]
    assert box["args"][:2] == ["--namespace=$(POD_NAMESPACE)", "--http-port=8080"]
    (env,) = [e for e in box["env"] if e["name"] == "POD_NAMESPACE"]
    assert env["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert box["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert box[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    service = one(docs, "Service", "sealops-controller")
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (8080, "http")
    labels = one(docs, "Deployment", "sealops-controller")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


@needs_kubectl
@pytest.mark.parametrize("directory", OVERLAYS)
def test_objects_land_in_the_right_namespace(directory: str) -> None:
    for doc in kustomize(directory):
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in doc["metadata"], where
        else:
            assert doc["metadata"]["namespace"] == NAMESPACE, where
    for binding in [d for d in kustomize(directory) if d["kind"].endswith("Binding")]:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "sealops-controller", "namespace": NAMESPACE}
        ]


@needs_kubectl
def test_base_ships_the_crds_unchanged_and_the_peering_object() -> None:
    docs = kustomize("base")
    rendered = {d["metadata"]["name"]: d for d in docs if d["kind"] == "CustomResourceDefinition"}
    assert rendered == crds()
    assert one(docs, "ClusterKopfPeering", "sealops")["apiVersion"] == "kopf.dev/v1"
    assert one(docs, "Deployment", "sealops-controller")["spec"]["replicas"] == 1
    assert not [a for a in controller(docs)["args"] if a.startswith("--peering")]


@needs_kubectl
def test_ha_overlay_runs_two_peered_replicas_with_a_disruption_budget() -> None:
    docs = kustomize("overlays/ha")
    deployment = one(docs, "Deployment", "sealops-controller")
    assert deployment["spec"]["replicas"] == 2
    assert "--peering=sealops" in controller(docs)["args"]
    pdb = one(docs, "PodDisruptionBudget", "sealops-controller")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


# The controller's grants, rule by rule: (apiGroup, resource) -> verbs. Anything else is a finding.
USER_RULES: dict[str, dict[tuple[str, str], set[str]]] = {
    "sealops-view": {
        ("sealops.dev", "sealedsecrets"): {"get", "list", "watch"},
        ("sealops.dev", "vaultsecrets"): {"get", "list", "watch"},
        ("sealops.dev", "vaultconnections"): {"get", "list", "watch"},
    },
    "sealops-edit": {
        ("sealops.dev", r): {"create", "update", "patch", "delete", "deletecollection"}
        for r in ("sealedsecrets", "vaultsecrets")
    },
}


def grants(role: Mapping[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) -> verbs; a verb limited by resourceNames reads ``verb[name,…]``."""
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, "no URLs"
        names = rule.get("resourceNames")
        verbs = [f"{v}[{','.join(sorted(names))}]" if names else v for v in rule["verbs"]]
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(verbs)
    return out


@needs_kubectl
def test_controller_rbac_binds_one_cluster_role() -> None:
    # What the ClusterRole grants is checked against the controller's recorded calls in
    # tests/unit/controller/test_rbac.py; here: it renders, and is bound to the ServiceAccount.
    docs = kustomize("base")
    one(docs, "ClusterRole", "sealops-controller")
    binding = one(docs, "ClusterRoleBinding", "sealops-controller")
    assert binding["roleRef"]["name"] == "sealops-controller"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "sealops-controller", "namespace": NAMESPACE}
    ]


@needs_kubectl
@pytest.mark.parametrize(("name", "label"), [("sealops-view", "view"), ("sealops-edit", "edit")])
def test_user_roles_aggregate_into_the_builtin_roles(name: str, label: str) -> None:
    role = one(kustomize("base"), "ClusterRole", name)
    assert role["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{label}"] == "true"
    assert grants(role) == USER_RULES[name]
    rules = load_all(DEPLOY / "base" / "user-roles.yaml")
    assert name in {r["metadata"]["name"] for r in rules}, "user roles live in user-roles.yaml"


@needs_kubectl
@pytest.mark.parametrize("directory", OVERLAYS)
def test_no_wildcards_anywhere_in_rbac(directory: str) -> None:
    for doc in kustomize(directory):
        for rule in doc.get("rules", []):
            for values in rule.values():
                assert "*" not in values, f"{doc['metadata']['name']}: {rule}"


# ---------------------------------------------------------------------------------------------
# Helm chart: its sources (the rendered objects: test_chart_render.py).

# -- names in user objects ---------------------------------------------------------------------
# A field that names a Kubernetes object reaches an API path in the controller: the CRD refuses
# anything but the API server's rule for that kind (see docs/security.md, "Names from users").

SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
# (CRD, field path) -> (pattern, maxLength): every field that takes a name or a Secret key.
NAME_FIELDS: dict[tuple[str, str], tuple[str, int]] = {
    ("vaultsecrets.sealops.dev", "spec.connectionRef.name"): (SUBDOMAIN, 253),
    ("vaultsecrets.sealops.dev", "spec.target.name"): (SUBDOMAIN, 253),
    ("vaultsecrets.sealops.dev", "spec.rolloutRestartTargets[].name"): (SUBDOMAIN, 253),
    ("vaultsecrets.sealops.dev", "spec.data[].key"): (SECRET_KEY, 253),
    **{
        (crd, field): rule
        for crd in ("vaultconnections.sealops.dev", "clustervaultconnections.sealops.dev")
        for field, rule in (
            ("spec.caSecretRef.name", (SUBDOMAIN, 253)),
            ("spec.caSecretRef.key", (SECRET_KEY, 253)),
            ("spec.auth.appRole.secretRef.name", (SUBDOMAIN, 253)),
            ("spec.auth.appRole.secretRef.key", (SECRET_KEY, 253)),
            ("spec.auth.token.secretRef.name", (SUBDOMAIN, 253)),
            ("spec.auth.token.secretRef.key", (SECRET_KEY, 253)),
            ("spec.auth.kubernetes.serviceAccountName", (SUBDOMAIN, 253)),
        )
    },
    ("clustervaultconnections.sealops.dev", "spec.allowedNamespaces[]"): (r"^[-a-z0-9*?]+$", 63),
}
ENUM_FIELDS = {
    ("vaultsecrets.sealops.dev", "spec.connectionRef.kind"): [
        "VaultConnection",
        "ClusterVaultConnection",
    ],
    ("vaultsecrets.sealops.dev", "spec.rolloutRestartTargets[].kind"): [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
    ],
}


def string_fields(node: Doc, path: str = "") -> Iterator[tuple[str, Doc]]:
    """(path, schema) of every string field under ``node``; list items are ``field[]``."""
    if node.get("type") == "string":
        yield path, node
    for key, sub in (node.get("properties") or {}).items():
        if path == "" and key == "metadata":
            continue
        yield from string_fields(sub, f"{path}.{key}" if path else key)
    if isinstance(node.get("items"), dict):
        yield from string_fields(node["items"], f"{path}[]")


def _looks_like_a_name(path: str) -> bool:
    last = path.rsplit(".", 1)[-1].rstrip("[]")
    return (
        last in ("name", "key") or last.endswith(("Name", "Namespaces"))
    ) and not path.startswith("status.")


@pytest.mark.parametrize("name", SEALOPS_CRDS)
def test_every_name_field_has_the_api_servers_rule(name: str) -> None:
    fields = dict(string_fields(schema_of(crds()[name])))
    named = {path for path in fields if _looks_like_a_name(path)}
    expected = {field for crd, field in NAME_FIELDS if crd == name}
    assert named == expected, "a new field that names an object needs a pattern (and a row here)"
    for field in expected:
        pattern, longest = NAME_FIELDS[(name, field)]
        assert (fields[field].get("pattern"), fields[field].get("maxLength")) == (pattern, longest)
    for (crd, field), values in ENUM_FIELDS.items():
        if crd == name:
            assert fields[field]["enum"] == values


@pytest.mark.parametrize("name", SEALOPS_CRDS)
def test_crds_cite_no_outside_document(name: str) -> None:
    text = (CRDS / f"{name}.yaml").read_text()
    assert "DESIGN" not in text and "§" not in text


ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)


def test_chart_crds_are_byte_identical_to_deploy_crds() -> None:
    ours = {p.name: p.read_bytes() for p in CRDS.glob("*.yaml") if p.name != "kustomization.yaml"}
    chart = {p.name: p.read_bytes() for p in (CHART / "crds").iterdir()}
    assert chart == ours, "copy deploy/crds/*.yaml (not kustomization.yaml) to the chart's crds/"


# What the chart renders for its values (objects equal to the base's and the HA overlay's,
# arguments the controller's own flags accept, every conditional) is checked on Helm's own output
# in test_chart_render.py; here only its sources.


def helm_template(values: Mapping[str, Any] | None = None) -> tuple[Doc, ...]:
    """``helm template sealops CHART -n sealops-system``, by Helm's engine (tests/helm_cli.py)."""
    from tests.helm_cli import template

    out = template(CHART, name="sealops", namespace=NAMESPACE, values=dict(values or {}))
    return tuple(d for d in yaml.safe_load_all(out) if d)


def template_text(name: str) -> str:
    return (CHART / "templates" / name).read_text()


TEMPLATES = sorted(p.name for p in (CHART / "templates").iterdir())


def test_chart_has_the_expected_templates() -> None:
    assert set(TEMPLATES) >= {
        "_helpers.tpl",
        "NOTES.txt",
        "serviceaccount.yaml",
        "rbac.yaml",
        "user-roles.yaml",
        "deployment.yaml",
        "service.yaml",
        "pdb.yaml",
        "peering.yaml",
        "servicemonitor.yaml",
        "networkpolicy.yaml",
    }


def value_paths(values: Any, prefix: str = "") -> set[str]:
    out = {prefix} if prefix else set()
    if isinstance(values, dict):
        for key, child in values.items():
            out |= value_paths(child, f"{prefix}.{key}" if prefix else key)
    return out


@pytest.mark.parametrize("name", TEMPLATES)
def test_chart_template_references_resolve(name: str) -> None:
    text = template_text(name)
    actions = ACTION.findall(text)
    assert text.count("{{") == text.count("}}") == len(actions), "unbalanced {{ }}"
    opened = [a for a in actions if re.match(r"(if|with|range|define)\b", a)]
    assert len(opened) == len([a for a in actions if a == "end"]), "every block needs its end"
    defined = set(re.findall(r'define "([^"]+)"', template_text("_helpers.tpl")))
    assert set(re.findall(r'include "([^"]+)"', text)) <= defined
    known = value_paths(yaml.safe_load((CHART / "values.yaml").read_text()))
    used = set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text))
    assert used <= known, f"not in values.yaml: {sorted(used - known)}"


def base_controller_rules() -> dict[tuple[str, str], set[str]]:
    base = load_all(DEPLOY / "base" / "rbac.yaml")
    return grants(next(d for d in base if d["kind"] == "ClusterRole"))


# ---------------------------------------------------------------------------------------------
# Dockerfile (no Docker engine here: checked statically)


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            op, _, rest = line.strip().partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_dockerfile_runs_the_controller_as_non_root() -> None:
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    users = [rest for op, rest in stage if op == "USER"]
    assert users == ["65532:65532"], "one non-root USER, the uid the manifests ask for"
    assert stage[-1] == ("ENTRYPOINT", '["sealops-controller"]')


def test_dockerfile_installs_no_dev_extras() -> None:
    runs = [rest for op, rest in dockerfile_instructions() if op == "RUN"]
    assert any("pip wheel" in r and r.rstrip().endswith(" .") for r in runs), "builds a wheel"
    installs = [r for r in final_stage() if r[0] == "RUN" and "pip install" in r[1]]
    assert len(installs) == 1
    assert "--no-index" in installs[0][1], "only the wheels built in the first stage"
    for run in runs:
        assert "[dev]" not in run and ".[" not in run, run


def test_dockerignore_keeps_the_build_context_small() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests"} <= ignored
    assert "README.md" not in ignored and "sealer" not in ignored, "pip wheel . needs these"


def test_the_local_sandbox_is_never_shipped() -> None:
    """``sandbox/`` (the emulator, the OpenBao and controller launchers) is not product: the
    image's build context leaves it out and setuptools' package discovery does not include it."""
    assert "sandbox" in set((ROOT / ".dockerignore").read_text().split())
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    packages = [p.parent.name for p in ROOT.glob("*/__init__.py")]
    assert "sandbox" in packages and "tests" in packages
    shipped = {p for p in packages if any(fnmatchcase(p, i) for i in find["find"]["include"])}
    assert shipped == {"sealer", "controller"}, shipped


# ---------------------------------------------------------------------------------------------
# The optional NetworkPolicy (kustomize component, Helm chart)

CONTROLLER_PORT = 8080  # --http-port in the Deployment; the Service may publish another port


def policy_problems(policy: Doc, pod_labels: Mapping[str, str]) -> list[str]:
    """What is wrong with a controller NetworkPolicy: selection, port, and no allow-all rule."""
    problems = []
    spec = policy["spec"]
    selector = spec["podSelector"]
    if set(selector) != {"matchLabels"} or not selector["matchLabels"]:
        problems.append("podSelector: matchLabels only, never empty (empty selects every pod)")
    elif not selector["matchLabels"].items() <= pod_labels.items():
        problems.append(f"podSelector {selector} does not select the controller's pods")
    if spec.get("policyTypes") != ["Ingress"]:
        problems.append("policyTypes: Ingress only (egress reaches the API server and Vault)")
    for index, rule in enumerate(spec.get("ingress") or []):
        if not rule.get("from"):
            problems.append(f"ingress[{index}]: no `from` admits every source")
        if rule.get("ports") != [{"port": CONTROLLER_PORT, "protocol": "TCP"}]:
            problems.append(f"ingress[{index}]: ports must be [{CONTROLLER_PORT}/TCP]")
    return problems


BAD_POLICIES = [
    ("empty-selector", {"podSelector": {}}, "never empty", "{} selects every pod in the namespace"),
    (
        "other-pods",
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}}},
        "does not select",
        "a policy for other pods leaves the controller open",
    ),
    (
        "no-from",
        {"ingress": [{"ports": [{"port": CONTROLLER_PORT, "protocol": "TCP"}]}]},
        "admits every source",
        "a rule without `from` is allow-all",
    ),
    (
        "empty-from",
        {"ingress": [{"from": [], "ports": [{"port": CONTROLLER_PORT, "protocol": "TCP"}]}]},
        "admits every source",
        "an empty `from` is allow-all too",
    ),
    (
        "service-port",
        {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.1/32"}}], "ports": [{"port": 80}]}]},
        "ports must be",
        "the policy sees the pod's port, not the Service's",
    ),
    (
        "egress-too",
        {"policyTypes": ["Ingress", "Egress"]},
        "Ingress only",
        "egress would cut Vault",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected", "reason"),
    [c[1:] for c in BAD_POLICIES],
    ids=[c[0] for c in BAD_POLICIES],
)
def test_policy_checker_finds(change: Doc, expected: str, reason: str) -> None:
    labels = {"app.kubernetes.io/name": "sealops", "app.kubernetes.io/component": "controller"}
    good: Doc = {
        "spec": {
            "podSelector": {"matchLabels": dict(labels)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
                    "ports": [{"port": CONTROLLER_PORT, "protocol": "TCP"}],
                }
            ],
        }
    }
    assert policy_problems(good, labels) == []
    bad = {"spec": {**good["spec"], **change}}
    assert any(expected in p for p in policy_problems(bad, labels)), reason


@needs_kubectl
def test_base_ships_no_network_policy() -> None:
    # Optional: a CNI without NetworkPolicy ignores it, and one with it needs the API server's
    # addresses, which only the installer knows.
    assert not [d for d in kustomize("base") if d["kind"] == "NetworkPolicy"]
    component = yaml.safe_load(
        (DEPLOY / "components" / "network-policy" / "kustomization.yaml").read_text()
    )
    assert component["kind"] == "Component", "added with `components:`, so the base stays as it is"


@needs_kubectl
def test_kustomize_network_policy_admits_only_the_listed_sources_to_the_controller_port() -> None:
    docs = kustomize("overlays/network-policy")
    deployment = one(docs, "Deployment", "sealops-controller")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    policy = one(docs, "NetworkPolicy", "sealops-controller")
    assert policy["metadata"]["namespace"] == NAMESPACE
    assert policy_problems(policy, pod_labels) == []
    assert (
        policy["spec"]["podSelector"]["matchLabels"]
        == deployment["spec"]["selector"]["matchLabels"]
    )
    (rule,) = policy["spec"]["ingress"]
    assert [p["containerPort"] for p in controller(docs)["ports"]] == [CONTROLLER_PORT]
    assert {
        "namespaceSelector": {"matchLabels": {"sealops.dev/controller-access": "true"}}
    } in rule["from"], "namespaces an admin labelled (Prometheus, CI)"
    blocks = [peer["ipBlock"]["cidr"] for peer in rule["from"] if "ipBlock" in peer]
    assert blocks, "the API server is admitted: `seal` comes through its service proxy"
    assert all(cidr != "0.0.0.0/0" for cidr in blocks), "not the whole internet"


# What docs/security.md promises the controller is never granted, each with why it matters.
NEVER_GRANTED = [
    ("delete", None, "nothing is deleted because something failed; owned Secrets go by GC"),
    ("deletecollection", None, "the same, in bulk"),
    ("escalate", None, "would let it grant itself more than it holds"),
    ("bind", None, "would let it bind roles it does not hold"),
    ("impersonate", None, "would let it act as any user or group"),
    (None, "pods", "no pod creation: it would run code as any ServiceAccount"),
    (None, "pods/exec", "no exec into other workloads"),
    (None, "roles", "no RBAC objects"),
    (None, "rolebindings", "no RBAC objects"),
    (None, "clusterroles", "no RBAC objects"),
    (None, "clusterrolebindings", "no RBAC objects"),
    (None, "nodes", "no node access"),
]


@pytest.mark.parametrize(
    ("verb", "resource", "reason"),
    NEVER_GRANTED,
    ids=[f"{v or '*'}-{r or '*'}" for v, r, _ in NEVER_GRANTED],
)
def test_the_controller_is_never_granted(
    verb: str | None, resource: str | None, reason: str
) -> None:
    chart = grants(one(helm_template(), "ClusterRole", "sealops-controller"))
    for role in (base_controller_rules(), chart):
        for (_, res), verbs in role.items():
            plain = {v.split("[")[0] for v in verbs}
            if resource is None:
                assert verb not in plain, f"{res}: {reason}"
            elif res == resource:
                pytest.fail(f"{res} is granted: {reason}")
