"""The Helm chart, rendered by Helm, against the kustomize base and the controller's own flags.

Helm's own engine renders the chart (helm-python-sdk, through :func:`tests.helm_cli.template`,
which is what ``helm template`` prints), so every ``if``, ``with`` and ``range`` of its
templates is checked on the objects Helm makes:

- at its defaults it renders the objects of ``deploy/base`` exactly, and with two replicas those of
  ``deploy/overlays/ha`` (labels aside, and the differences in ``ONLY_IN_THE_BASE``, each with why);
- for each values case in ``VALUES_CASES`` the container's arguments are parsed by the
  controller's real click command, and give the settings the values promise;
- each conditional in ``CONDITIONALS`` (HA: peering and the PodDisruptionBudget; the
  ServiceMonitor; the NetworkPolicy; the user roles; every optional pod and object field; names;
  the image) makes, or leaves out, what its values say, and nothing else changes;
- ``NOTES.txt`` says what its conditions promise;
- its appVersion is the package's version, the image tag the base runs.

``test_a_wrong_chart_is_found`` plants one mistake at a time in a copy of the chart and shows each
is found, so these tests fail on a wrong chart.
"""

from __future__ import annotations

import copy
import importlib.metadata
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
import helm_python
import pytest
import yaml

from controller.cli import main as controller_command
from controller.keyring import KeyPolicy
from tests.helm_cli import template
from tests.unit.test_deploy import (
    CHART,
    DEPLOY,
    NAMESPACE,
    USER_RULES,
    base_controller_rules,
    grants,
    kustomize,
    load_all,
    needs_kubectl,
    policy_problems,
)

Doc = dict[str, Any]
RELEASE = "sealops"
RELEASE_LABEL = "app.kubernetes.io/instance"  # Helm's release label: the base has no release
ONLY_IN_THE_BASE = {
    "Namespace": "helm install --create-namespace makes it",
    "CustomResourceDefinition": "the chart's crds/ (byte copies of deploy/crds, test_deploy)",
    "ClusterKopfPeering": "the chart makes it only for replicas > 1, where --peering uses it",
}
# (id, values, the controller settings they must give, why)
VALUES_CASES: list[tuple[str, Doc, Doc, str]] = [
    ("defaults", {}, {"namespace": NAMESPACE, "http_port": 8080, "peering": None,
     "key_renew_period": KeyPolicy(namespace="x").renew_period, "bitnami_compat": False},
     "empty keyRenewPeriod keeps the controller's own default"),
    ("ha", {"replicas": 2}, {"peering": "sealops"}, "more than one replica turns on peering"),
    ("peering-name", {"replicas": 3, "peering": {"name": "blue"}}, {"peering": "blue"},
     "the name the ClusterKopfPeering and the RBAC rule use"),
    ("renew-period", {"keyRenewPeriod": "24h"}, {"key_renew_period": 86400.0},
     "passed as --key-renew-period"),
    ("bitnami", {"bitnamiCompat": True}, {"bitnami_compat": True}, "passed as --bitnami-compat"),
    ("extra-args", {"extraArgs": ["--log-level=debug", "--watch-namespace=shop"]},
     {"log_level": "debug", "watch_namespaces": ("shop",)}, "extraArgs reach the command line"),
]  # fmt: skip


def manifests(
    chart: Path = CHART, values: Mapping[str, Any] | None = None, namespace: str = NAMESPACE
) -> list[Doc]:
    """What ``helm template sealops CHART -n NAMESPACE`` makes for ``values``."""
    out = template(chart, name=RELEASE, namespace=namespace, values=dict(values or {}))
    return [d for d in yaml.safe_load_all(out) if d]


def merged_values(chart: Path, values: Mapping[str, Any]) -> Doc:
    """The values Helm coalesces for a release (chart defaults under ``values``)."""
    with helm_python.Chart.load(str(chart)) as loaded:
        return loaded.merge_values(dict(values))


def notes(values: Mapping[str, Any], namespace: str = NAMESPACE) -> str:
    with helm_python.Chart.load(str(CHART)) as loaded:
        out = loaded.render(dict(values), name=RELEASE, namespace=namespace, is_install=True)
    return out["sealops/templates/NOTES.txt"]


def _key(doc: Doc) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def kinds(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def the(docs: list[Doc], kind: str, name: str = "sealops-controller") -> Doc:
    (found,) = [d for d in docs if _key(d) == (kind, name)]
    return found


def _comparable(doc: Doc) -> Doc:
    """The object without what Helm adds by design: labels and annotations, the release label."""
    doc = copy.deepcopy(doc)
    doc["metadata"].pop("labels", None)
    doc["metadata"].pop("annotations", None)
    spec = doc.get("spec") or {}
    for selector in (
        (spec.get("selector") or {}).get("matchLabels"),
        spec.get("selector") if doc["kind"] == "Service" else None,
        ((spec.get("template") or {}).get("metadata") or {}).get("labels"),
    ):
        if isinstance(selector, dict):
            selector.pop(RELEASE_LABEL, None)
    return doc


def _object_problems(
    chart: list[Doc], base: tuple[Doc, ...], where: str, *, peered: bool = False
) -> list[str]:
    skipped = set(ONLY_IN_THE_BASE) - ({"ClusterKopfPeering"} if peered else set())
    ours = {_key(d): d for d in chart}
    theirs = {_key(d): d for d in base if d["kind"] not in skipped}
    problems = [f"{where}: the chart lacks {k}" for k in sorted(set(theirs) - set(ours))]
    problems += [f"{where}: only the chart has {k}" for k in sorted(set(ours) - set(theirs))]
    for key in sorted(set(ours) & set(theirs)):
        if _comparable(ours[key]) != _comparable(theirs[key]):
            problems.append(f"{where}: {key} differs from kustomize's")
    return problems


def _pod(docs: list[Doc]) -> Doc:
    (deployment,) = kinds(docs, "Deployment")
    pod = deployment["spec"]["template"]
    assert isinstance(pod, dict)
    return pod


def _container(docs: list[Doc]) -> Doc:
    (box,) = _pod(docs)["spec"]["containers"]
    assert isinstance(box, dict)
    return box


def _command_line(box: Doc, namespace: str) -> list[str]:
    """The container's args with $(VAR) expanded from its env, as the kubelet does."""
    env = {}
    for var in box.get("env") or []:
        if "value" in var:
            env[var["name"]] = var["value"]
        elif var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace":
            env[var["name"]] = namespace
    args = []
    for arg in box["args"]:
        for name, value in env.items():
            arg = arg.replace(f"$({name})", value)
        args.append(arg)
    return args


def _settings(args: list[str]) -> Doc:
    """The controller's settings from its real click command (no environment variables)."""
    context = controller_command.make_context("sealops-controller", args, auto_envvar_prefix=None)
    return dict(context.params)


def _flag_problems(chart: Path, case: str, values: Doc, expected: Doc) -> list[str]:
    docs = manifests(chart, values)
    box = _container(docs)
    try:
        settings = _settings(_command_line(box, NAMESPACE))
    except click.ClickException as exc:
        return [f"{case}: the controller refuses the chart's arguments: {exc.format_message()}"]
    problems = [
        f"{case}: {name} is {settings.get(name)!r}, not {want!r}"
        for name, want in expected.items()
        if settings.get(name) != want
    ]
    if [p["containerPort"] for p in box["ports"]] != [settings["http_port"]]:
        problems.append(f"{case}: the container port is not --http-port")
    peering = settings["peering"]
    peerings = [d["metadata"]["name"] for d in kinds(docs, "ClusterKopfPeering")]
    if peerings != ([peering] if peering else []):
        problems.append(f"{case}: ClusterKopfPeering {peerings} for --peering={peering}")
    role = the(docs, "ClusterRole")
    named = [r["resourceNames"] for r in role["rules"] if "resourceNames" in r]
    if named != [[merged_values(chart, values)["peering"]["name"]]]:
        problems.append(f"{case}: the RBAC rule names {named}, not peering.name")
    return problems


def chart_problems(path: Path) -> list[str]:
    """Everything wrong with the chart at ``path`` (see the module docstring)."""
    problems = _object_problems(manifests(path), kustomize("base"), "defaults")
    ha = kustomize("overlays/ha")
    (deployment,) = [d for d in ha if d["kind"] == "Deployment"]
    affinity = deployment["spec"]["template"]["spec"]["affinity"]  # the overlay's node spread
    with_two = manifests(path, {"replicas": 2, "affinity": affinity})
    problems += _object_problems(with_two, ha, "ha", peered=True)
    for case, values, expected, _ in VALUES_CASES:
        problems += _flag_problems(path, case, values, expected)
    app_version = yaml.safe_load((path / "Chart.yaml").read_text())["appVersion"]
    if app_version != importlib.metadata.version("sealops"):
        problems.append(f"appVersion {app_version} is not the package's version")
    return problems


@needs_kubectl
def test_the_chart_renders_the_base_and_the_controllers_flags() -> None:
    assert chart_problems(CHART) == []


# (id, file, text, replacement, what must be found, why)
WRONG_CHARTS = [
    ("flag-typo", "templates/deployment.yaml", "--key-renew-period=", "--key-renewal-period=",
     "refuses the chart's arguments", "a flag the controller does not have"),
    ("port", "templates/deployment.yaml", "--http-port=8080", "--http-port=8081",
     "Deployment", "the container listens elsewhere than the probes and Service say"),
    ("writable-root", "values.yaml", "readOnlyRootFilesystem: true",
     "readOnlyRootFilesystem: false", "Deployment", "a securityContext weaker than the base's"),
    ("more-rbac", "templates/rbac.yaml", "resources: [secrets]", "resources: [secrets, pods]",
     "ClusterRole", "a grant the base does not make"),
    ("peering-rule", "templates/rbac.yaml", "{{ .Values.peering.name | quote }}", '"sealops"',
     "peering-name: the RBAC rule", "the RBAC rule must follow peering.name"),
    ("bitnami-flag", "templates/deployment.yaml", "- --bitnami-compat", "- --no-bitnami-compat",
     "bitnami: bitnami_compat", "the value must turn the flag on"),
    ("selector-labels", "templates/_helpers.tpl", "app.kubernetes.io/component: controller",
     "app.kubernetes.io/component: ctrl", "Deployment", "labels that select other pods"),
    ("app-version", "Chart.yaml", 'appVersion: "0.1.0"', 'appVersion: "9.9.9"', "appVersion",
     "an image tag the package was not released as"),
    ("peered-helper", "templates/_helpers.tpl", "gt (int .Values.replicas) 1",
     "gt (int .Values.replicas) 2", "ha: the chart lacks", "two replicas must be peered"),
]  # fmt: skip


def _planted(tmp_path: Path, file: str, text: str, replacement: str) -> Path:
    wrong = tmp_path / "sealops"
    shutil.copytree(CHART, wrong)
    source = (wrong / file).read_text()
    assert text in source, "the planted mistake must change the chart"
    (wrong / file).write_text(source.replace(text, replacement))
    return wrong


@needs_kubectl
@pytest.mark.parametrize(
    ("file", "text", "replacement", "expected", "reason"),
    [c[1:] for c in WRONG_CHARTS],
    ids=[c[0] for c in WRONG_CHARTS],
)
def test_a_wrong_chart_is_found(
    tmp_path: Path, file: str, text: str, replacement: str, expected: str, reason: str
) -> None:
    problems = chart_problems(_planted(tmp_path, file, text, replacement))
    assert any(expected in p for p in problems), (reason, problems)


# -- every conditional of the templates, on Helm's output --------------------------------------

SELECTOR = {
    "app.kubernetes.io/name": "sealops",
    RELEASE_LABEL: RELEASE,
    "app.kubernetes.io/component": "controller",
}


def _ha(docs: list[Doc]) -> list[str]:
    problems = []
    if [d["metadata"]["name"] for d in kinds(docs, "ClusterKopfPeering")] != ["sealops"]:
        problems.append("two replicas make the ClusterKopfPeering sealops")
    pdbs = kinds(docs, "PodDisruptionBudget")
    if len(pdbs) != 1 or pdbs[0]["spec"] != {
        "minAvailable": 1,
        "selector": {"matchLabels": SELECTOR},
    }:
        problems.append("a PodDisruptionBudget of minAvailable 1 over the controller's pods")
    if "--peering=sealops" not in _container(docs)["args"]:
        problems.append("--peering")
    return problems


def _no_pdb(docs: list[Doc]) -> list[str]:
    peered = "--peering=sealops" in _container(docs)["args"]
    return [] if peered and not kinds(docs, "PodDisruptionBudget") else ["peered, no budget"]


def _pdb_min(docs: list[Doc]) -> list[str]:
    (pdb,) = kinds(docs, "PodDisruptionBudget")
    return [] if pdb["spec"]["minAvailable"] == 2 else ["minAvailable from values"]


def _monitor(docs: list[Doc]) -> list[str]:
    (monitor,) = kinds(docs, "ServiceMonitor")
    problems = []
    if monitor["metadata"]["namespace"] != NAMESPACE:
        problems.append("in the release's namespace")
    if monitor["metadata"]["labels"].get("release") != "prom":
        problems.append("serviceMonitor.labels on the object (Prometheus selects by them)")
    if monitor["spec"]["selector"] != {"matchLabels": the(docs, "Service")["spec"]["selector"]}:
        problems.append("selects the controller's Service")
    want = [{"port": "http", "path": "/metrics", "interval": "15s"}]
    if monitor["spec"]["endpoints"] != want:
        problems.append(f"endpoints {monitor['spec']['endpoints']}")
    return problems


def _policy(rules: int | None, peers: int = 0) -> Callable[[list[Doc]], list[str]]:
    def check(docs: list[Doc]) -> list[str]:
        policies = kinds(docs, "NetworkPolicy")
        if rules is None:
            return ["no NetworkPolicy unless enabled"] if policies else []
        (policy,) = policies
        problems = policy_problems(policy, _pod(docs)["metadata"]["labels"])
        ingress = policy["spec"].get("ingress") or []
        if len(ingress) != rules:
            problems.append(f"{len(ingress)} ingress rules, not {rules}")
        sources = (ingress[0].get("from") or []) if ingress else []
        if ingress and len(sources) != peers:
            problems.append(f"{len(sources)} sources, not {peers}")
        return problems

    return check


def _no_user_roles(docs: list[Doc]) -> list[str]:
    names = {d["metadata"]["name"] for d in kinds(docs, "ClusterRole")}
    return [] if names == {"sealops-controller"} else [f"ClusterRoles {sorted(names)}"]


def _pod_fields(docs: list[Doc]) -> list[str]:
    pod, box = _pod(docs), _container(docs)
    spec = pod["spec"]
    got = {
        "podLabels": pod["metadata"]["labels"].get("team"),
        "podAnnotations": pod["metadata"].get("annotations"),
        "imagePullSecrets": spec.get("imagePullSecrets"),
        "priorityClassName": spec.get("priorityClassName"),
        "nodeSelector": spec.get("nodeSelector"),
        "tolerations": spec.get("tolerations"),
        "extraEnv": box["env"][-1],
    }
    want = {
        "podLabels": "a",
        "podAnnotations": {"x": "1"},
        "imagePullSecrets": [{"name": "pull"}],
        "priorityClassName": "high",
        "nodeSelector": {"disk": "ssd"},
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "extraEnv": {"name": "EXTRA", "value": "1"},
    }
    problems = [f"{k}: {got[k]!r}" for k in want if got[k] != want[k]]
    if pod["metadata"]["labels"].items() < SELECTOR.items():
        problems.append("podLabels replaced the selector labels")
    return problems


def _unset_pod_fields(docs: list[Doc]) -> list[str]:
    spec = _pod(docs)["spec"]
    absent = ("imagePullSecrets", "priorityClassName", "nodeSelector", "tolerations", "affinity")
    found = [k for k in absent if k in spec]
    if "annotations" in _pod(docs)["metadata"]:
        found.append("pod annotations")
    if "annotations" in the(docs, "ServiceAccount")["metadata"]:
        found.append("ServiceAccount annotations")
    return [f"empty values must leave out {found}"] if found else []


def _names(docs: list[Doc]) -> list[str]:
    problems = []
    account = the(docs, "ServiceAccount", "robot")
    if account["metadata"].get("annotations") != {"eks.amazonaws.com/role-arn": "arn"}:
        problems.append("serviceAccount.annotations")
    if _pod(docs)["spec"]["serviceAccountName"] != "robot":
        problems.append("the pod runs as serviceAccount.name")
    binding = the(docs, "ClusterRoleBinding", "ctl")
    if binding["subjects"] != [{"kind": "ServiceAccount", "name": "robot", "namespace": NAMESPACE}]:
        problems.append("the binding names the ServiceAccount")
    named = {d["metadata"]["name"] for d in docs if d["kind"] not in ("ClusterRole",)}
    if binding["roleRef"]["name"] != "ctl" or named != {"ctl", "robot"}:
        problems.append(f"fullnameOverride names the objects: {sorted(named)}")
    return problems


def _image(docs: list[Doc]) -> list[str]:
    box = _container(docs)
    want = ("example.com/sealops:9.9.9", "Always")
    return [] if (box["image"], box["imagePullPolicy"]) == want else [str(box["image"])]


def _default_image(docs: list[Doc]) -> list[str]:
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    want = f"ghcr.io/sealops/sealops:{app_version}"
    return [] if _container(docs)["image"] == want else ["the tag defaults to appVersion"]


# (id, values, check, why); each values case renders once, through Helm.
CONDITIONALS: list[tuple[str, Doc, Callable[[list[Doc]], list[str]], str]] = [
    ("ha", {"replicas": 2}, _ha, "replicas > 1: peering, its object and a disruption budget"),
    ("single", {}, lambda d: [k for k in ("ClusterKopfPeering", "PodDisruptionBudget")
     if kinds(d, k)], "one replica: neither"),
    ("ha-without-budget", {"replicas": 2, "podDisruptionBudget": {"enabled": False}}, _no_pdb,
     "podDisruptionBudget.enabled: false leaves only the budget out"),
    ("budget-size", {"replicas": 3, "podDisruptionBudget": {"minAvailable": 2}}, _pdb_min,
     "minAvailable from values"),
    ("service-monitor-off", {}, lambda d: ["ServiceMonitor"] if kinds(d, "ServiceMonitor")
     else [], "off by default (it needs prometheus-operator's CRD)"),
    ("service-monitor", {"serviceMonitor": {"enabled": True, "interval": "15s",
     "labels": {"release": "prom"}}}, _monitor, "scrapes /metrics through the Service"),
    ("network-policy-off", {}, _policy(None), "off by default"),
    ("network-policy-no-source", {"networkPolicy": {"enabled": True}}, _policy(0),
     "on with no source: no rule at all (an empty `from` would admit everyone)"),
    ("network-policy-api-server", {"networkPolicy": {"enabled": True, "apiServer":
     {"cidrs": ["10.0.0.10/32", "10.0.0.11/32"]}}}, _policy(1, 2), "one ipBlock per CIDR"),
    ("network-policy-from", {"networkPolicy": {"enabled": True, "from": [{"namespaceSelector":
     {"matchLabels": {"team": "obs"}}}]}}, _policy(1, 1), "further peers, as given"),
    ("user-roles-off", {"userRoles": {"enabled": False}}, _no_user_roles,
     "userRoles.enabled: false leaves out the aggregated roles"),
    ("pod-fields", {"podLabels": {"team": "a"}, "podAnnotations": {"x": "1"},
     "imagePullSecrets": [{"name": "pull"}], "priorityClassName": "high",
     "nodeSelector": {"disk": "ssd"}, "tolerations": [{"key": "k", "operator": "Exists"}],
     "extraEnv": [{"name": "EXTRA", "value": "1"}]}, _pod_fields, "each `with` renders its value"),
    ("pod-fields-unset", {}, _unset_pod_fields, "and leaves its field out when empty"),
    ("names", {"fullnameOverride": "ctl", "serviceAccount": {"name": "robot",
     "annotations": {"eks.amazonaws.com/role-arn": "arn"}}}, _names,
     "names follow fullnameOverride and serviceAccount.name"),
    ("image", {"image": {"repository": "example.com/sealops", "tag": "9.9.9",
     "pullPolicy": "Always"}}, _image, "the image from values"),
    ("image-default", {}, _default_image, "the tag defaults to the chart's appVersion"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "check", "reason"),
    [c[1:] for c in CONDITIONALS],
    ids=[c[0] for c in CONDITIONALS],
)
def test_each_conditional_makes_what_its_values_say(
    values: Doc, check: Callable[[list[Doc]], list[str]], reason: str
) -> None:
    assert check(manifests(CHART, values)) == [], reason


def test_every_template_conditional_is_exercised() -> None:
    """A new ``if``/``with``/``range`` over a value needs a row in CONDITIONALS or VALUES_CASES."""
    covered = {
        "replicas", "podDisruptionBudget", "serviceMonitor", "networkPolicy", "userRoles",
        "podLabels", "podAnnotations", "imagePullSecrets", "priorityClassName", "nodeSelector",
        "tolerations", "affinity", "extraEnv", "extraArgs", "keyRenewPeriod", "bitnamiCompat",
        "serviceAccount", "fullnameOverride", "image", "peering",
    }  # fmt: skip
    used = set()
    for path in (CHART / "templates").iterdir():
        for action in re.findall(r"\{\{-?\s*(?:if|with|range)\b([^}]*)\}\}", path.read_text()):
            used |= set(re.findall(r"\.Values\.(\w+)", action))
    assert used, "the pattern must find the templates' conditionals"
    assert used <= covered, f"conditionals on {sorted(used - covered)} are not checked"


@pytest.mark.parametrize(
    ("values", "namespace", "expected", "absent", "reason"),
    [
        ({}, NAMESPACE, ["seal cert > sealops-cert.pem"], ["port-forward", "WARNING"],
         "the default install: seal finds it"),
        ({}, "tools", ["port-forward svc/sealops-controller 8080:8080", "--controller-url"], [],
         "another namespace: say how to point seal there"),
        ({"replicas": 2}, NAMESPACE, ['kopf peering "sealops"'], [], "HA says it is peered"),
        ({"networkPolicy": {"enabled": True}}, NAMESPACE, ["WARNING", "admits nobody"], [],
         "a policy that shuts `seal` out says so"),
        ({"networkPolicy": {"enabled": True, "apiServer": {"cidrs": ["10.0.0.1/32"]}}},
         NAMESPACE, [], ["WARNING"], "with a source, no warning"),
    ],
    ids=["default", "other-namespace", "ha", "policy-no-source", "policy-with-source"],
)  # fmt: skip
def test_notes_say_what_their_conditions_promise(
    values: Doc, namespace: str, expected: list[str], absent: list[str], reason: str
) -> None:
    text = notes(values, namespace)
    assert all(e in text for e in expected) and not any(a in text for a in absent), (reason, text)


def test_helm_lints_the_chart() -> None:
    report = helm_python.lint(str(CHART), strict=True)
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []


def test_a_conditional_check_finds_a_wrong_template(tmp_path: Path) -> None:
    """The conditional checks fail on a wrong chart: the budget always made, the monitor's
    selector wrong, the policy's `from` left empty."""
    plants = [
        ("templates/pdb.yaml", "and (include", "or (include", "single"),
        ("templates/servicemonitor.yaml", "path: /metrics", "path: /stats", "service-monitor"),
        ("templates/networkpolicy.yaml", "if or .Values.networkPolicy.apiServer.cidrs "
         ".Values.networkPolicy.from", "if true", "network-policy-no-source"),
    ]  # fmt: skip
    rows = {c[0]: c for c in CONDITIONALS}
    for n, (file, text, replacement, case) in enumerate(plants):
        wrong = _planted(tmp_path / str(n), file, text, replacement)
        _, values, check, _ = rows[case]
        assert check(manifests(wrong, values)) != [], (file, case)


def test_the_deployment_keeps_the_bases_fixed_entry_point() -> None:
    docs = manifests(CHART, {"replicas": 2})
    box, pod = _container(docs), _pod(docs)["spec"]
    (base,) = load_all(DEPLOY / "base" / "deployment.yaml")
    (base_box,) = base["spec"]["template"]["spec"]["containers"]
    for name in ("command", "ports", "livenessProbe", "readinessProbe", "volumeMounts"):
        assert box[name] == base_box[name], name
    assert box["args"][:2] == base_box["args"]
    assert "--peering=sealops" in box["args"], "several replicas turn on peering"
    assert box["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    for name in ("automountServiceAccountToken", "enableServiceLinks"):
        assert pod[name] == base["spec"]["template"]["spec"][name], name
    assert the(docs, "ServiceAccount")["automountServiceAccountToken"] is False


def test_the_roles_equal_the_bases() -> None:
    docs = manifests(CHART, {"peering": {"name": "blue"}})
    named = grants(the(docs, "ClusterRole"))
    assert {k: {v.replace("[blue]", "[sealops]") for v in vs} for k, vs in named.items()} == (
        base_controller_rules()
    ), "the same rules, the peering rule naming peering.name"
    for name, rules in USER_RULES.items():
        assert grants(the(docs, "ClusterRole", name)) == rules
    assert not kinds(docs, "Role") and not kinds(docs, "RoleBinding")


def test_the_network_policy_is_off_by_default() -> None:
    assert merged_values(CHART, {})["networkPolicy"] == {
        "enabled": False,
        "apiServer": {"cidrs": []},
        "from": [],
    }
