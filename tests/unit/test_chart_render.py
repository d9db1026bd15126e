"""The Helm chart, rendered, against the kustomize base and the controller's own flags.

There is no helm binary on the project machines, so ``tests/unit/charttemplate.py`` renders the
chart's templates (the subset of Go templates and Sprig the chart uses, refusing anything else).
:func:`chart_problems` then holds the chart to what it claims:

- at its defaults it renders the objects of ``deploy/base`` exactly, and with two replicas those of
  ``deploy/overlays/ha`` (labels aside, and the differences in ``ONLY_IN_THE_BASE``, each with why);
- for each values case in ``VALUES_CASES`` the container's arguments are parsed by the
  controller's real click command, and give the settings the values promise;
- its appVersion is the package's version, the image tag the base runs.

``test_a_wrong_chart_is_found`` plants one mistake at a time in a copy of the chart and shows each
is found, so these tests fail on a wrong chart. The tests with the real helm stay in test_deploy.
"""

from __future__ import annotations

import copy
import importlib.metadata
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from controller.cli import main as controller_command
from controller.keyring import KeyPolicy
from tests.unit.charttemplate import Chart, Unsupported, render_text
from tests.unit.test_deploy import CHART, NAMESPACE, kustomize, needs_kubectl

Doc = dict[str, Any]
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


def _key(doc: Doc) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


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


def _container(docs: list[Doc]) -> Doc:
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (box,) = deployment["spec"]["template"]["spec"]["containers"]
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


def _flag_problems(chart: Chart, case: str, values: Doc, expected: Doc) -> list[str]:
    docs = chart.manifests(values)
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
    peerings = [d["metadata"]["name"] for d in docs if d["kind"] == "ClusterKopfPeering"]
    if peerings != ([peering] if peering else []):
        problems.append(f"{case}: ClusterKopfPeering {peerings} for --peering={peering}")
    (role,) = [d for d in docs if _key(d) == ("ClusterRole", "sealops-controller")]
    named = [r["resourceNames"] for r in role["rules"] if "resourceNames" in r]
    if named != [[chart.values(values)["peering"]["name"]]]:
        problems.append(f"{case}: the RBAC rule names {named}, not peering.name")
    return problems


def chart_problems(path: Path) -> list[str]:
    """Everything wrong with the chart at ``path`` (see the module docstring)."""
    chart = Chart(path)
    problems = _object_problems(chart.manifests(), kustomize("base"), "defaults")
    ha = kustomize("overlays/ha")
    (deployment,) = [d for d in ha if d["kind"] == "Deployment"]
    affinity = deployment["spec"]["template"]["spec"]["affinity"]  # the overlay's node spread
    with_two = chart.manifests({"replicas": 2, "affinity": affinity})
    problems += _object_problems(with_two, ha, "ha", peered=True)
    for case, values, expected, _ in VALUES_CASES:
        problems += _flag_problems(chart, case, values, expected)
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
]  # fmt: skip


@needs_kubectl
@pytest.mark.parametrize(
    ("file", "text", "replacement", "expected", "reason"),
    [c[1:] for c in WRONG_CHARTS],
    ids=[c[0] for c in WRONG_CHARTS],
)
def test_a_wrong_chart_is_found(
    tmp_path: Path, file: str, text: str, replacement: str, expected: str, reason: str
) -> None:
    wrong = tmp_path / "sealops"
    shutil.copytree(CHART, wrong)
    source = (wrong / file).read_text()
    assert text in source, "the planted mistake must change the chart"
    (wrong / file).write_text(source.replace(text, replacement))
    problems = chart_problems(wrong)
    assert any(expected in p for p in problems), (reason, problems)


# The renderer's own semantics, as Go's text/template and Sprig define them.
RENDERS: list[tuple[str, str, Mapping[str, Any], str, str]] = [
    ("trim-left", "a  {{- .x }}  b", {"x": 1}, "a1  b", "{{- eats the whitespace before"),
    ("trim-right", "a {{ .x -}} \n b", {"x": 1}, "a 1b", "-}} eats the whitespace after"),
    ("with-empty", "{{ with .x }}[{{ . }}]{{ end }}", {"x": ""}, "", "empty: skipped"),
    ("with-value", "{{ with .x }}[{{ . }}]{{ end }}", {"x": "v"}, "[v]", "dot is the value"),
    ("range", "{{ range .xs }}<{{ . }}>{{ end }}", {"xs": ["a", "b"]}, "<a><b>", "in order"),
    ("pipe-last-arg", '{{ "abcdef" | trunc 3 }}', {}, "abc", "the piped value comes last"),
    ("default", '{{ default "d" .missing }}|{{ default "d" .x }}', {"x": "v"}, "d|v", "Sprig"),
    ("and-not", "{{ if and .a (not .b) }}y{{ end }}", {"a": 1, "b": 0}, "y", "sub-pipelines"),
    ("or-empty-list", "{{ if or .a .b }}y{{ end }}", {"a": [], "b": {}}, "", "empty is false"),
    ("quote", "{{ .s | quote }}", {"s": 'say "hi"'}, '"say \\"hi\\""', "escaped"),
    ("bool", "{{ .t }} {{ .f }}", {"t": True, "f": False}, "true false", "Go prints bools so"),
    ("to-yaml-sorted", "{{ toYaml .m }}", {"m": {"b": 1, "a": [2]}}, "a:\n- 2\nb: 1", "no \\n"),
    ("nindent", "k:{{ toYaml .m | nindent 2 }}", {"m": {"a": 1, "b": 2}}, "k:\n  a: 1\n  b: 2",
     "a newline, then each line indented"),
    ("printf-replace", '{{ printf "%s-%s" .a .b | replace "+" "_" }}', {"a": "x", "b": "1+2"},
     "x-1_2", "the chart label's recipe"),
    ("gt-int", "{{ if gt (int .n) 1 }}many{{ end }}", {"n": 2}, "many", "the peered helper"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("template", "dot", "expected", "reason"),
    [c[1:] for c in RENDERS],
    ids=[c[0] for c in RENDERS],
)
def test_the_renderer_follows_go_templates(
    template: str, dot: Mapping[str, Any], expected: str, reason: str
) -> None:
    assert render_text(template, dict(dot)) == expected, reason


def test_include_renders_a_define_with_the_given_dot() -> None:
    helpers = '{{- define "x.labels" -}}\nname: {{ .n }}\n{{- end -}}'
    out = render_text('m:\n  {{- include "x.labels" . | nindent 2 }}', {"n": "a"}, {"h": helpers})
    assert out == "m:\n  name: a"


UNSUPPORTED = [
    ("else", "{{ if .x }}a{{ else }}b{{ end }}", "else branches"),
    ("variable", "{{ $x := .y }}", "variables"),
    ("unknown-function", "{{ lower .x }}", "a Sprig function the chart does not use"),
    ("unclosed", "{{ if .x }}a", "a block without its end"),
    ("stray-end", "a{{ end }}", "an end without a block"),
    ("print-a-map", "{{ .m }}", "Go would print map[...]: use toYaml"),
]


@pytest.mark.parametrize(
    ("template", "reason"), [c[1:] for c in UNSUPPORTED], ids=[c[0] for c in UNSUPPORTED]
)
def test_the_renderer_refuses_what_it_does_not_implement(template: str, reason: str) -> None:
    with pytest.raises(Unsupported):
        render_text(template, {"x": 1, "m": {"a": 1}})
