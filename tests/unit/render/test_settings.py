"""sealer.render.settings and sealer.render.chart, without processes: who decides, and helm's argv.

The integration tests (tests/integration/render/test_argocd_cmp.py, test_helm_chart.py) run the
same rules through plugin.yaml, Helm and OpenBao; these pin the one-line errors and the command
line cheaply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from sealer.errors import SealopsError
from sealer.render.chart import ChartOptions, helm_command
from sealer.render.settings import Requested, decide, parameters

V = "PLANTVALUE-7f3"  # must never be quoted


def env_with(params: Sequence[Mapping[str, object]], **extra: str) -> dict[str, str]:
    return {"ARGOCD_APP_PARAMETERS": json.dumps(params), **extra}


@pytest.mark.parametrize(
    ("requested", "environ", "mode", "deny"),
    [
        (Requested(), {}, "inline", False),
        (Requested(mode="reference"), {}, "reference", False),
        (Requested(), {"SEALOPS_MODE": "reference"}, "reference", False),
        (Requested(mode="inline"), {"SEALOPS_MODE": "reference"}, "inline", False),
        (Requested(), env_with([{"name": "mode", "string": "reference"}]), "reference", False),
        (Requested(), {"ARGOCD_ENV_SEALOPS_MODE": "reference"}, "reference", False),
        (Requested(deny_plaintext=True), {}, "inline", True),
        (Requested(), {"SEALOPS_DENY_PLAINTEXT": "yes"}, "inline", True),
        (Requested(), env_with([{"name": "deny-plaintext", "string": "true"}]), "inline", True),
        (
            Requested(),
            env_with([{"name": "mode", "string": ""}], SEALOPS_MODE="reference"),
            "reference",
            False,
        ),
    ],
    ids=[
        "defaults", "flag", "sidecar-env", "flag-over-env", "param-tightens", "env-tightens",
        "deny-flag", "deny-env", "deny-param", "empty-param-sets-nothing",
    ],
)  # fmt: skip
def test_who_decides(requested: Requested, environ: dict[str, str], mode: str, deny: bool) -> None:
    decided = decide(requested, environ)
    assert (decided.mode, decided.deny_plaintext) == (mode, deny)


@pytest.mark.parametrize(
    ("requested", "environ", "message"),
    [
        (Requested(), env_with([{"name": "mode", "string": "inline"}], SEALOPS_MODE="reference"),
         "the plugin parameter 'mode' may tighten the plugin's mode reference, not loosen it to "
         "inline"),
        (Requested(mode="reference"), {"ARGOCD_ENV_SEALOPS_MODE": "inline"},
         "ARGOCD_ENV_SEALOPS_MODE may tighten the plugin's mode reference, not loosen it to inline"),
        (Requested(deny_plaintext=True), env_with([{"name": "deny-plaintext", "string": "no"}]),
         "the plugin parameter 'deny-plaintext' may not turn off the plugin's deny-plaintext"),
        (Requested(), {"SEALOPS_MODE": V}, "SEALOPS_MODE must be inline or reference"),
        (Requested(), {"SEALOPS_DENY_PLAINTEXT": V}, "SEALOPS_DENY_PLAINTEXT must be true or false"),
        (Requested(), env_with([{"name": "mode", "string": V}]),
         "the plugin parameter 'mode' must be inline or reference"),
        (Requested(), env_with([{"name": "set", "map": {"a": V}}]),
         "the plugin parameter 'set' must be a array"),
        (Requested(), env_with([{"name": "set", "array": [1]}]),
         "the plugin parameter 'set' must be an array of strings"),
        (Requested(), env_with([{"name": V, "string": "x"}]),
         f"the Application's plugin parameter '{V}' is not one sealops reads"),
        (Requested(), {"ARGOCD_APP_PARAMETERS": "{" + V}, "ARGOCD_APP_PARAMETERS is not the JSON"),
        (Requested(), {"ARGOCD_ENV_SEALOPS_CONNECTION_KIND": V},
         "ARGOCD_ENV_SEALOPS_CONNECTION_KIND must be VaultConnection or ClusterVaultConnection"),
    ],
    ids=["param-loosens", "env-loosens", "deny-off", "bad-sidecar-mode", "bad-sidecar-deny",
         "bad-param", "map-for-array", "not-strings", "unknown", "not-json", "bad-kind"],
)  # fmt: skip
def test_refusals_are_one_line_without_the_value(
    requested: Requested, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SealopsError) as caught:
        decide(requested, environ)
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text, text
    if "is not one sealops reads" not in message:  # a parameter's name is not a value
        assert V not in text


def test_connection_the_sidecars_first() -> None:
    params = [{"name": "connection", "string": "param"}]
    assert decide(Requested(), env_with(params)).connection == "param"
    app = env_with(params, ARGOCD_ENV_SEALOPS_CONNECTION="app-env")
    assert decide(Requested(), app).connection == "app-env"
    assert decide(Requested(), {**app, "SEALOPS_CONNECTION": "sidecar"}).connection == "sidecar"
    assert decide(Requested(connection="flag"), {**app, "SEALOPS_CONNECTION": "s"}).connection == (
        "flag"
    )


def test_chart_options_from_the_command_line_then_the_application() -> None:
    params: list[Mapping[str, object]] = [
        {"name": "values-files", "array": ["b.yaml", "c d.yaml"]},
        {"name": "set", "array": ["x=1,y=2", "z=a b"]},
        {"name": "include-crds", "string": "true"},
    ]
    got = decide(Requested(chart=ChartOptions(("a.yaml",), ("w=0",))), env_with(params)).chart
    assert got == ChartOptions(("a.yaml", "b.yaml", "c d.yaml"), ("w=0", "x=1,y=2", "z=a b"), True)
    assert parameters({}) == {} and parameters({"ARGOCD_APP_PARAMETERS": "null"}) == {}


def chart(tmp_path: Path) -> Path:
    root = tmp_path / "--post-renderer=sh"
    root.mkdir()
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (root / "--values=x.yaml").write_text("a: 1\n")
    return root


def test_helm_gets_each_option_as_one_flag_argument(tmp_path: Path) -> None:
    root = chart(tmp_path)
    options = ChartOptions(("--values=x.yaml",), ("-a=b", "k=v w"), include_crds=True)
    command = helm_command(root, options, {"ARGOCD_APP_NAME": "shop"})
    values = str((root / "--values=x.yaml").resolve())
    assert command == [
        "helm", "template", "--include-crds", f"--values={values}", "--set=-a=b", "--set=k=v w",
        "--", "shop", str(root.resolve()),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("../outside.yaml", "is outside the chart's directory"),
        ("/etc/hostname", "is outside the chart's directory"),
        ("", "is outside the chart's directory"),
        ("missing.yaml", "is not a file"),
        (".", "is not a file"),
    ],
    ids=["dotdot", "absolute", "empty", "missing", "a-directory"],
)
def test_values_files_must_be_files_inside_the_chart(
    tmp_path: Path, values: str, expected: str
) -> None:
    (tmp_path / "outside.yaml").write_text(f"a: {V}\n")
    with pytest.raises(SealopsError, match=expected) as caught:
        helm_command(chart(tmp_path), ChartOptions((values,)), {})
    assert V not in str(caught.value)


def test_a_set_expression_with_a_newline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SealopsError, match="empty or holds a newline") as caught:
        helm_command(chart(tmp_path), ChartOptions(set=(f"a={V}\nb=1",)), {})
    assert V not in str(caught.value)


LOCK = "dependencies:\n- {name: db, version: 0.2.0, repository: %s}\ndigest: sha256:0\n"
TWO = (
    "dependencies:\n- {name: db, version: 0.2.0, repository: %s}\n"
    "- {name: out, version: 0.1.0, repository: %s}\ndigest: sha256:0\n"
)


@pytest.mark.parametrize(
    ("files", "outcome"),
    [
        ({}, "nothing"),
        ({"Chart.lock": LOCK % "https://charts.example"}, "helm is not on PATH"),
        ({"Chart.lock": LOCK % "https://x", "charts/db-0.2.0.tgz": "x"}, "nothing"),
        ({"Chart.lock": LOCK % "https://x", "charts/db/Chart.yaml": "name: db\n"}, "nothing"),
        ({"Chart.lock": LOCK % "https://x", "charts/db-0.1.0.tgz": "x"}, "helm is not on PATH"),
        ({"Chart.lock": LOCK % "file://../elsewhere"}, "outside the chart's directory"),
        ({"Chart.lock": LOCK % "file://deps/db"}, "helm is not on PATH"),
        ({"Chart.lock": "dependencies: {db: 1}\n"}, "must be a list of charts"),
        ({"Chart.lock": "[unclosed\n"}, "cannot read Chart.lock"),
        # One dependency missing: helm then builds every one, so a present file:// dependency
        # outside the chart is refused too (in the lock, or declared in Chart.yaml).
        ({"Chart.lock": TWO % ("file://./sub", "file://../outside"),
          "charts/out-0.1.0.tgz": "x"}, "Chart.lock: dependency out is a file:// chart outside"),
        ({"Chart.lock": LOCK % "file://./sub",
          "Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n"
                        "- {name: out, version: 0.1.0, repository: file://../outside}\n"},
         "Chart.yaml: dependency out is a file:// chart outside"),
    ],
    ids=["no-lock", "missing", "tgz", "unpacked", "other-version", "file-outside", "file-inside",
         "bad-shape", "bad-yaml", "one-missing-another-outside", "declared-outside"],
)  # fmt: skip
def test_dependency_build_only_when_the_lock_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], outcome: str
) -> None:
    """helm is kept off PATH: "helm is not on PATH" shows a build would have run."""
    from sealer.render.chart import prepare_dependencies

    root = chart(tmp_path)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    if outcome == "nothing":
        prepare_dependencies(root)
        return
    with pytest.raises(SealopsError, match=outcome) as caught:
        prepare_dependencies(root)
    assert "\n" not in str(caught.value)
