"""The Argo CD contract: plugin.yaml's commands run as argocd-cmp-server runs them.

argocd-cmp-server copies the app's directory, runs ``discover`` and then ``generate.command`` +
``generate.args`` there, with the sidecar's env plus ``ARGOCD_APP_NAME``,
``ARGOCD_APP_NAMESPACE``, the Application's plugin env as ``ARGOCD_ENV_<NAME>`` and its
parameters as ``ARGOCD_APP_PARAMETERS`` and ``PARAM_<NAME>`` (:mod:`tests.argocd_cmp`); stdout
must be the manifests. A failure must leave stdout empty and say why in one line.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.argocd_cmp import Application, discover, environment, generate
from tests.helm_cli import install
from tests.integration.render.conftest import MARK, Bao

pytestmark = pytest.mark.integration

PLUGIN = Path(__file__).parents[3] / "deploy" / "argocd" / "plugin.yaml"
SPEC = yaml.safe_load(PLUGIN.read_text())["spec"]

APP = {
    "secret.yaml": """apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations: {avp.kubernetes.io/path: secret/data/db}
type: Opaque
stringData:
  url: postgres://<username>:<password>@<host>:<port>/<database>
data:
  token: <path:secrets/data/my-db#username | base64encode>
""",
    "deploy/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: web
        env: [{name: DB_HOST, value: "<path:secret/data/db#host>"}]
""",
    "README.md": "not a manifest <path:secret/data/db#nope>\n",
}


def app_copy(tmp_path: Path, files: dict[str, str]) -> Path:
    """The repo checkout and the copy argocd-cmp-server makes of the app's directory."""
    repo = tmp_path / "repo" / "apps" / "shop"
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    work = tmp_path / "cmp-work" / "apps" / "shop"
    shutil.copytree(repo, work)
    return work


def run(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return generate(SPEC, cwd, env)


def cmp_env(bao: Bao, app: Application | None = None, **sidecar: str) -> dict[str, str]:
    """The env argocd-cmp-server gives the plugin: the sidecar's (over the Bao defaults; ""
    removes one), then what the Application sends."""
    return environment(bao.env(**sidecar), app or Application())


def param(name: str, value: str | list[str]) -> dict[str, object]:
    return {"name": name, "array" if isinstance(value, list) else "string": value}


def test_discover_finds_apps_with_placeholders(tmp_path: Path, bao: Bao) -> None:
    assert discover(SPEC, app_copy(tmp_path, APP), cmp_env(bao))
    plain = app_copy(tmp_path / "p", {"a.yaml": "kind: X\n"})
    assert not discover(SPEC, plain, cmp_env(bao))
    values = app_copy(tmp_path / "c", {"values.yaml": "pw: <path:secret/data/db#password>\n"})
    assert discover(SPEC, values, cmp_env(bao)), "a chart whose values hold placeholders"


def test_generate_gives_the_rendered_stream(tmp_path: Path, bao: Bao) -> None:
    app = Application(env={"SEALOPS_KV_VERSION": "2"})
    out = run(app_copy(tmp_path, APP), cmp_env(bao, app))
    assert out.returncode == 0, out.stderr.decode()
    docs = list(yaml.safe_load_all(out.stdout))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Deployment", "web"),
        ("Secret", "db"),
    ]
    deployment, secret = docs
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "host"
    assert deployment["spec"]["replicas"] == 2
    assert secret["stringData"]["url"] == "postgres://user:pass@host:9443/my-db"
    assert base64.b64decode(secret["data"]["token"]).decode() == f"{MARK}-user-v2"
    assert out.stderr == b""


def test_generate_with_parameters_renders_references(tmp_path: Path, bao: Bao) -> None:
    app = Application(parameters=(param("mode", "reference"), param("connection", "vault")))
    env = cmp_env(bao, app, VAULT_TOKEN="")
    files = {"secret.yaml": APP["secret.yaml"]}
    out = run(app_copy(tmp_path, files), env)
    assert out.returncode == 0, out.stderr.decode()
    (doc,) = yaml.safe_load_all(out.stdout)
    assert doc["kind"] == "VaultSecret"
    assert doc["spec"]["connectionRef"] == {"kind": "VaultConnection", "name": "vault"}


@dataclass
class Listener:
    """A TCP server on 127.0.0.1 that records every connection and what it was sent."""

    sock: socket.socket
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(2)
            try:
                while chunk := conn.recv(65536):
                    self.received += chunk
                    if b"\r\n\r\n" in self.received:
                        break
            except OSError:
                pass
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = Listener(sock)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        # shutdown wakes the blocked accept() (close alone leaves it waiting out the join).
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Hostile:
    id: str
    reason: str
    sidecar: dict[str, str]  # the sidecar's own env, over the Bao defaults ("" removes one)
    app: dict[str, str]  # ARGOCD_ENV_ names without the prefix; "{listener}" is replaced
    params: dict[str, str] = field(default_factory=dict)  # the Application's plugin parameters
    refused: str = ""  # the variable the error line must name


SIDECAR_WITHOUT_ADDRESS = {"VAULT_ADDR": ""}
HOSTILE = [
    Hostile(
        "token-path-environ",
        "the reported bypass: /proc/self/environ (holding VAULT_TOKEN) as the JWT, sent to the "
        "Application's server",
        SIDECAR_WITHOUT_ADDRESS,
        {
            "VAULT_ADDR": "{listener}",
            "SEALOPS_AUTH": "kubernetes",
            "SEALOPS_K8S_ROLE": "x",
            "SEALOPS_K8S_TOKEN_PATH": "/proc/self/environ",
        },
        refused="ARGOCD_ENV_SEALOPS_K8S_TOKEN_PATH",
    ),
    Hostile(
        "token-path-environ-avp-names",
        "the same through argocd-vault-plugin's names",
        SIDECAR_WITHOUT_ADDRESS,
        {
            "VAULT_ADDR": "{listener}",
            "AVP_AUTH_TYPE": "k8s",
            "AVP_K8S_ROLE": "x",
            "AVP_K8S_TOKEN_PATH": "/proc/self/environ",
        },
        refused="ARGOCD_ENV_AVP_K8S_TOKEN_PATH",
    ),
    Hostile(
        "token-path-with-sidecar-address",
        "even to the sidecar's own Vault, a file of the sidecar's is not a JWT to send",
        {},
        {
            "SEALOPS_AUTH": "kubernetes",
            "SEALOPS_K8S_ROLE": "x",
            "SEALOPS_K8S_TOKEN_PATH": "/proc/self/environ",
        },
        refused="ARGOCD_ENV_SEALOPS_K8S_TOKEN_PATH",
    ),
    Hostile(
        "address-with-sidecar-token",
        "the sidecar's VAULT_TOKEN to the Application's server",
        SIDECAR_WITHOUT_ADDRESS,
        {"VAULT_ADDR": "{listener}"},
        refused="ARGOCD_ENV_VAULT_ADDR",
    ),
    Hostile(
        "address-and-cacert",
        "a CA path is a file of the sidecar's",
        SIDECAR_WITHOUT_ADDRESS,
        {"VAULT_ADDR": "{listener}", "VAULT_CACERT": "/proc/self/environ"},
        refused="ARGOCD_ENV_VAULT_CACERT",
    ),
    Hostile(
        "namespace-with-sidecar-token",
        "where the sidecar's token logs in",
        {},
        {"VAULT_NAMESPACE": "other-team"},
        refused="ARGOCD_ENV_VAULT_NAMESPACE",
    ),
    Hostile(
        "mount-with-sidecar-approle",
        "the mount that receives the sidecar's AppRole secret",
        {
            "SEALOPS_AUTH": "approle",
            "SEALOPS_ROLE_ID": "r",
            "SEALOPS_SECRET_ID": "s",
            "VAULT_TOKEN": "",
        },
        {"SEALOPS_AUTH_MOUNT": "attacker-approle"},
        refused="ARGOCD_ENV_SEALOPS_AUTH_MOUNT",
    ),
    Hostile(
        "own-role-id-with-sidecar-secret-id",
        "half an AppRole: the sidecar's secret_id under the Application's role and address",
        {"VAULT_ADDR": "", "VAULT_TOKEN": "", "SEALOPS_AUTH": "approle", "SEALOPS_SECRET_ID": "s"},
        {"VAULT_ADDR": "{listener}", "SEALOPS_ROLE_ID": "mine"},
        refused="ARGOCD_ENV_VAULT_ADDR",
    ),
    Hostile(
        "param-loosens-mode",
        "a plugin parameter may not loosen the sidecar's reference mode to inline",
        {"SEALOPS_MODE": "reference"},
        {},
        params={"mode": "inline"},
        refused="the plugin parameter 'mode'",
    ),
    Hostile(
        "param-turns-off-deny-plaintext",
        "nor turn off the sidecar's deny-plaintext",
        {"SEALOPS_DENY_PLAINTEXT": "true"},
        {},
        params={"deny-plaintext": "false"},
        refused="the plugin parameter 'deny-plaintext'",
    ),
    Hostile(
        "unknown-name",
        "a name not on the allow-list is refused, not ignored",
        {},
        {"SEALOPS_LOG_LEVEL": "debug"},
        refused="ARGOCD_ENV_SEALOPS_LOG_LEVEL",
    ),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c.id for c in HOSTILE])
def test_an_application_cannot_redirect_the_sidecars_identity(
    tmp_path: Path, bao: Bao, listener: Listener, case: Hostile
) -> None:
    app = Application(
        env={k: v.replace("{listener}", listener.address) for k, v in case.app.items()},
        parameters=tuple(param(k, v) for k, v in case.params.items()),
    )
    out = run(app_copy(tmp_path, APP), cmp_env(bao, app, **case.sidecar))
    assert out.returncode != 0 and out.stdout == b"", case.reason
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert case.refused in lines[0], (case.reason, lines[0])
    assert bao.token not in lines[0] and "/proc/self/environ" not in lines[0]
    assert listener.connections == 0, f"{case.reason}: something connected to the listener"
    assert bao.token.encode() not in listener.received


def test_the_listener_sees_an_applications_own_credentials(
    tmp_path: Path, bao: Bao, listener: Listener
) -> None:
    """The positive control: with its own token an Application may name its own server, and the
    listener records that connection, so the zero counts above mean something."""
    app = Application(env={"VAULT_ADDR": listener.address, "VAULT_TOKEN": "app-own-token"})
    env = cmp_env(bao, app, VAULT_ADDR="", VAULT_TOKEN="")
    out = run(app_copy(tmp_path, APP), env)
    assert out.returncode != 0 and out.stdout == b""  # the listener is no Vault
    assert listener.connections >= 1
    assert b"app-own-token" in listener.received
    assert bao.token.encode() not in listener.received


# The sidecar's setting (None: unset) and the Application's, by env and by parameter, in every
# combination. The rule, stated independently of the renderer: the sidecar's value (unset:
# inline, allow) is a floor; an Application asking for less fails the render in one line; else
# the strictest of all wins.
ORDER = {"mode": ["inline", "reference"], "deny": ["false", "true"]}
ENV_NAME = {"mode": "SEALOPS_MODE", "deny": "SEALOPS_DENY_PLAINTEXT"}
PARAM_NAME = {"mode": "mode", "deny": "deny-plaintext"}
CHOICES = {
    setting: [
        (sidecar, app_env, app_param)
        for sidecar in (None, *values)
        for app_env in (None, *values)
        for app_param in (None, *values)
    ]
    for setting, values in ORDER.items()
}


def expected(setting: str, sidecar: str | None, asks: list[str | None]) -> str:
    order = ORDER[setting]
    floor = order.index(sidecar or order[0])
    asked = [order.index(a) for a in asks if a]
    if any(a < floor for a in asked):
        return "refused"
    return order[max([floor, *asked])]


@pytest.mark.parametrize("setting", ["mode", "deny"])
def test_sidecar_and_application_in_every_combination(
    tmp_path: Path, bao: Bao, setting: str
) -> None:
    """plugin.yaml's generate, run as argocd-cmp-server runs it, against OpenBao, for every
    combination of the sidecar's setting and the Application's env and parameter."""
    files = {"secret.yaml": APP["secret.yaml"]}
    if setting == "deny":
        files["plain.yaml"] = PLAINTEXT
    failures = []
    for n, (sidecar, app_env, app_param) in enumerate(CHOICES[setting]):
        app = Application(
            env={ENV_NAME[setting]: app_env} if app_env else {},
            parameters=(param(PARAM_NAME[setting], app_param),) if app_param else (),
        )
        sidecar_env = {ENV_NAME[setting]: sidecar} if sidecar else {}
        if setting == "mode":
            sidecar_env["SEALOPS_CONNECTION"] = "vault"
        out = run(app_copy(tmp_path / str(n), files), cmp_env(bao, app, **sidecar_env))
        want = expected(setting, sidecar, [app_env, app_param])
        got = outcome(setting, out)
        if got != want:
            failures.append(((sidecar, app_env, app_param), want, got))
    assert failures == [], "(sidecar, Application env, Application parameter), want, got"


def outcome(setting: str, out: subprocess.CompletedProcess[bytes]) -> str:
    """What the render did: refused (with one line), or the mode / deny-plaintext it ran with."""
    if out.returncode != 0:
        lines = out.stderr.decode().strip().splitlines()
        assert out.stdout == b"" and len(lines) == 1 and lines[0].startswith("Error: "), lines
        if setting == "deny" and "literal" in lines[0]:
            return "true"  # deny-plaintext on: the plaintext Secret is refused
        assert "may " in lines[0], lines[0]  # "may tighten …, not loosen", "may not turn off"
        return "refused"
    assert out.stderr == b"", out.stderr.decode()
    kinds = [d["kind"] for d in yaml.safe_load_all(out.stdout)]
    if setting == "mode":
        return {"VaultSecret": "reference", "Secret": "inline"}[kinds[0]]
    return "false"


@pytest.mark.parametrize(
    "sidecar,app,line",
    [
        ({}, Application(parameters=({"name": "mode", "string": "Inline "},)),
         "Error: the plugin parameter 'mode' must be inline or reference"),
        ({}, Application(parameters=({"name": "mode", "array": ["reference"]},)),
         "Error: the plugin parameter 'mode' must be a string"),
        ({}, Application(parameters=({"name": "deny-plaintext", "string": "maybe"},)),
         "Error: the plugin parameter 'deny-plaintext' must be true or false"),
        ({}, Application(parameters=({"name": "values-files", "string": "a.yaml b.yaml"},)),
         "Error: the plugin parameter 'values-files' must be a array"),
        ({}, Application(parameters=({"name": "log-level", "string": "debug"},)),
         "Error: the Application's plugin parameter 'log-level' is not one sealops reads (it "
         "reads: mode, deny-plaintext, connection, connection-kind, include-crds, values-files, "
         "set)"),
        ({}, Application(env={"SEALOPS_MODE": "bogus"}),
         "Error: ARGOCD_ENV_SEALOPS_MODE must be inline or reference"),
        ({}, Application(parameters=({"name": "connection-kind", "string": "Vault"},)),
         "Error: the plugin parameter 'connection-kind' must be VaultConnection or "
         "ClusterVaultConnection"),
        ({"SEALOPS_MODE": "Reference"}, Application(),
         "Error: SEALOPS_MODE must be inline or reference"),
    ],
    ids=["bad-mode", "mode-array", "bad-deny", "values-string", "unknown", "bad-env-mode",
         "bad-kind", "bad-sidecar-mode"],
)  # fmt: skip
def test_parameter_errors_are_one_line(
    tmp_path: Path, bao: Bao, sidecar: dict[str, str], app: Application, line: str
) -> None:
    """Not click's usage text: one line, naming the parameter, in Argo CD's UI."""
    out = run(app_copy(tmp_path, APP), cmp_env(bao, app, **sidecar))
    assert out.returncode != 0 and out.stdout == b""
    assert out.stderr.decode().splitlines() == [line]


PLAINTEXT = """apiVersion: v1
kind: Secret
metadata: {name: plain, namespace: shop}
stringData: {password: hunter2}
"""


def test_missing_key_gives_no_manifest_and_one_line(tmp_path: Path, bao: Bao) -> None:
    files = dict(APP)
    files["deploy/deployment.yaml"] = files["deploy/deployment.yaml"].replace(
        "#host>", "#hostname>"
    )
    out = run(app_copy(tmp_path, files), cmp_env(bao))
    assert out.returncode != 0
    assert out.stdout == b""
    lines = out.stderr.decode().strip().splitlines()
    assert lines == [
        "Error: deploy/deployment.yaml: Deployment shop/web: "
        "spec.template.spec.containers[0].env[0].value: Vault secret 'secret/db' has no field "
        "'hostname' (it has: database, host, password, port, username)"
    ]


CHART = {
    "Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "values.yaml": "user: <path:secret/data/db#username>\nreplicas: 1\n",
    "values-prod.yaml": "replicas: 3\n",
    "templates/secret.yaml": """apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-db, namespace: {{ .Release.Namespace }}}
stringData: {user: {{ .Values.user | quote }}, note: {{ .Values.note | default "" | quote }}}
""",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: {{ .Release.Namespace }}}
spec: {replicas: {{ .Values.replicas }}}
""",
    "crds/widgets.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    "metadata: {name: widgets.shop.example}\n",
}


@pytest.mark.parametrize("sidecar_mode", ["inline", "reference"])
def test_a_helm_chart_app_with_parameters(tmp_path: Path, bao: Bao, sidecar_mode: str) -> None:
    """A chart app as Argo CD renders it: discover finds the placeholder in values.yaml, and
    generate runs helm (Helm's engine, tests/helm_cli.py) with the Application's values files,
    --set expressions (one per array item, in Helm's syntax: "a b" stays one value) and include-crds, then fills
    or references the placeholders as the sidecar's mode says."""
    app = Application(
        parameters=(
            param("values-files", ["values-prod.yaml"]),
            param("set", ["note=a b\\,c"]),
            param("include-crds", "true"),
            param("connection", "vault"),
        )
    )
    env = cmp_env(bao, app, SEALOPS_MODE=sidecar_mode)
    env["PATH"] = f"{install(tmp_path / 'bin').parent}{os.pathsep}{env['PATH']}"
    work = app_copy(tmp_path, CHART)
    assert discover(SPEC, work, env)
    out = run(work, env)
    assert out.returncode == 0, out.stderr.decode()
    docs = {d["kind"]: d for d in yaml.safe_load_all(out.stdout)}
    assert docs["Deployment"]["spec"]["replicas"] == 3
    assert docs["CustomResourceDefinition"]["metadata"]["name"] == "widgets.shop.example"
    if sidecar_mode == "inline":
        assert docs["Secret"]["metadata"] == {"name": "shop-db", "namespace": "shop"}
        assert docs["Secret"]["stringData"] == {"user": "user", "note": "a b,c"}
    else:
        assert "Secret" not in docs and b"user: user" not in out.stdout
        refs = {d["key"]: d["ref"] for d in docs["VaultSecret"]["spec"]["data"]}
        assert refs == {"user": "secret/db#username"}
