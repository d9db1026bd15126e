"""``seal render`` of Helm charts, rendered by Helm itself, against a real OpenBao.

helm is not on these machines: :mod:`tests.helm_cli` puts a ``helm`` on ``PATH`` whose
``template`` and ``dependency build`` are Helm's Go SDK (helm-python-sdk). The chart here takes
its placeholders from values, so what Helm coalesces (values files in order, then ``--set``) is
what the renderer fills in.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helm_cli import install
from tests.integration.render.conftest import MARK, Bao

pytestmark = pytest.mark.integration

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "values.yaml": "replicas: 1\nport: 8080\npassword: <path:secret/data/db#password>\n"
    "user: <path:secret/data/db#username>\n",
    "values-prod.yaml": "replicas: 3\npassword: <path:secrets/data/my-db#username>\n",
    "templates/secret.yaml": """apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-db, namespace: {{ .Release.Namespace }}}
stringData:
  password: {{ .Values.password | quote }}
  user: {{ .Values.user | quote }}
""",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-web}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: web
        ports: [{containerPort: {{ .Values.port }}}]
""",
    "crds/widgets.yaml": """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.shop.example}
""",
}


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def helm_env(tmp_path: Path, bao: Bao) -> dict[str, str]:
    bin_dir = tmp_path / "helm-bin"
    install(bin_dir)
    env = bao.env(ARGOCD_APP_NAME="shop", ARGOCD_APP_NAMESPACE="team-a")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def seal(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["seal", "render", *args], cwd=cwd, env=env, capture_output=True, timeout=120, check=False
    )


def objects(out: subprocess.CompletedProcess[bytes]) -> dict[str, dict[str, object]]:
    assert out.returncode == 0, out.stderr.decode()
    return {d["kind"]: d for d in yaml.safe_load_all(out.stdout) if d}


def test_a_chart_with_placeholders_is_rendered_by_helm_then_filled(
    tmp_path: Path, helm_env: dict[str, str]
) -> None:
    chart = write(tmp_path / "shop", CHART)
    docs = objects(seal(["."], chart, helm_env))
    assert set(docs) == {"Secret", "Deployment"}, "crds/ is dropped unless asked for"
    secret, deployment = docs["Secret"], docs["Deployment"]
    assert secret["metadata"] == {"name": "shop-db", "namespace": "team-a"}
    assert secret["stringData"] == {"password": "pass", "user": "user"}
    assert deployment["spec"]["replicas"] == 1  # type: ignore[index]


def test_values_files_and_set_in_helms_order(tmp_path: Path, helm_env: dict[str, str]) -> None:
    chart = write(tmp_path / "shop", CHART)
    out = seal(
        ["-f", "values-prod.yaml", "--set", "replicas=5", "--set", "port=9090", "."],
        chart,
        helm_env,
    )
    docs = objects(out)
    assert docs["Secret"]["stringData"] == {"password": f"{MARK}-user-v2", "user": "user"}
    spec = docs["Deployment"]["spec"]
    assert spec["replicas"] == 5, "--set applies over the values files"  # type: ignore[index]
    container = spec["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert container["ports"] == [{"containerPort": 9090}], "a number stays a number"


def test_include_crds_keeps_the_charts_crds(tmp_path: Path, helm_env: dict[str, str]) -> None:
    chart = write(tmp_path / "shop", CHART)
    docs = objects(seal(["--include-crds", "."], chart, helm_env))
    assert docs["CustomResourceDefinition"]["metadata"] == {"name": "widgets.shop.example"}


def test_argocd_parameters_reach_helm_as_lists(tmp_path: Path, helm_env: dict[str, str]) -> None:
    """The Application's parameters (ARGOCD_APP_PARAMETERS): one values file and one --set
    expression per array item, so a value holding spaces is never split."""
    chart = write(tmp_path / "shop", {**CHART, "values dev.yaml": "replicas: 2\n"})
    params = [
        {"name": "values-files", "array": ["values dev.yaml"]},
        {"name": "set", "array": ["user=a b c"]},
        {"name": "include-crds", "string": "true"},
    ]
    env = {**helm_env, "ARGOCD_APP_PARAMETERS": json.dumps(params)}
    docs = objects(seal(["."], chart, env))
    assert docs["Deployment"]["spec"]["replicas"] == 2  # type: ignore[index]
    assert docs["Secret"]["stringData"]["user"] == "a b c"  # type: ignore[index]
    assert "CustomResourceDefinition" in docs


DEPENDENT = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n"
    "  - {name: db, version: 0.2.0, repository: file://deps/db}\n",
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
    "deps/db/Chart.yaml": "apiVersion: v2\nname: db\nversion: 0.2.0\n",
    "deps/db/templates/secret.yaml": """apiVersion: v1
kind: Secret
metadata: {name: db}
data: {password: <path:secret/data/db#password | base64encode>}
""",
}


def test_dependencies_missing_from_charts_are_built(
    tmp_path: Path, helm_env: dict[str, str]
) -> None:
    import helm_python

    chart = write(tmp_path / "shop", DEPENDENT)
    helm_python.dependency_update(str(chart))  # writes Chart.lock (and charts/, removed next)
    assert (chart / "Chart.lock").is_file()
    for built in (chart / "charts").iterdir():
        built.unlink()
    docs = objects(seal(["."], chart, helm_env))
    assert base64.b64decode(docs["Secret"]["data"]["password"]) == b"pass"  # type: ignore[index]
    assert [p.name for p in (chart / "charts").iterdir()] == ["db-0.2.0.tgz"]


def test_a_file_dependency_outside_the_chart_is_refused(
    tmp_path: Path, helm_env: dict[str, str]
) -> None:
    write(tmp_path / "other", {"Chart.yaml": "apiVersion: v2\nname: db\nversion: 0.2.0\n"})
    files = {k: v for k, v in DEPENDENT.items() if not k.startswith("deps/")}
    files["Chart.lock"] = (
        "dependencies:\n- {name: db, version: 0.2.0, repository: 'file://../other'}\n"
        "digest: sha256:0\ngenerated: '2026-01-01T00:00:00Z'\n"
    )
    chart = write(tmp_path / "shop", files)
    out = seal(["."], chart, helm_env)
    assert out.returncode != 0 and out.stdout == b""
    assert out.stderr.decode().splitlines() == [
        "Error: .: Chart.lock: dependency db is a file:// chart outside the chart's directory: "
        "refused"
    ]


@pytest.mark.parametrize(
    "values,reason",
    [
        ("../secret-values.yaml", "a path out of the chart"),
        ("/proc/self/environ", "a file of the sidecar's (VAULT_TOKEN is in it)"),
        ("link.yaml", "a link inside the chart to a file outside it"),
    ],
    ids=["dotdot", "absolute", "link-out"],
)
def test_values_files_outside_the_chart_are_refused(
    tmp_path: Path, helm_env: dict[str, str], values: str, reason: str
) -> None:
    (tmp_path / "secret-values.yaml").write_text(f"password: {MARK}-planted\n")
    chart = write(tmp_path / "shop", CHART)
    if values == "link.yaml":
        (chart / "link.yaml").symlink_to(tmp_path / "secret-values.yaml")
    params = [{"name": "values-files", "array": [values]}]
    out = seal(["."], chart, {**helm_env, "ARGOCD_APP_PARAMETERS": json.dumps(params)})
    assert out.returncode != 0 and out.stdout == b"", reason
    (line,) = out.stderr.decode().splitlines()
    assert line.startswith("Error: ") and "refused" in line, line
    assert ("symbolic link" in line) is (values == "link.yaml"), line
    assert MARK not in line and helm_env["VAULT_TOKEN"] not in line


def test_helms_own_error_is_one_line_without_values(
    tmp_path: Path, helm_env: dict[str, str]
) -> None:
    chart = write(tmp_path / "shop", CHART)
    out = seal(["--set", "replicas", "."], chart, helm_env)
    assert out.returncode != 0 and out.stdout == b""
    (line,) = out.stderr.decode().splitlines()
    assert line.startswith("Error: .: helm template failed: "), line


def test_chart_options_on_a_plain_directory_are_refused(
    tmp_path: Path, helm_env: dict[str, str]
) -> None:
    app = write(tmp_path / "app", {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"})
    out = seal(["--set", "a=b", "."], app, helm_env)
    assert out.returncode != 0 and out.stdout == b""
    assert out.stderr.decode().splitlines() == [
        "Error: .: is not a Helm chart: values files, --set and --include-crds apply to charts only"
    ]


def test_a_failed_render_of_a_chart_prints_no_value(
    tmp_path: Path, helm_env: dict[str, str]
) -> None:
    """All or nothing through helm: the first placeholder resolves (its value holds MARK), a later
    one names a missing key; stdout stays empty and the one error line holds no value."""
    files = dict(CHART)
    files["values.yaml"] = CHART["values.yaml"].replace(
        "user: <path:secret/data/db#username>", "user: <path:secret/data/db#nope>"
    )
    files["values.yaml"] = files["values.yaml"].replace(
        "password: <path:secret/data/db#password>", "password: <path:secrets/data/my-db#username>"
    )
    chart = write(tmp_path / "shop", files)
    out = seal(["."], chart, helm_env)
    assert out.returncode != 0 and out.stdout == b""
    (line,) = out.stderr.decode().splitlines()
    assert "has no field 'nope'" in line and MARK not in line, line
