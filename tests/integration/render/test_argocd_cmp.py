"""The Argo CD contract: plugin.yaml's commands run as argocd-cmp-server runs them.

argocd-cmp-server copies the app's directory, then runs ``generate.command`` +
``generate.args`` there (here ``sh -c <script>``), with ``ARGOCD_APP_NAME``,
``ARGOCD_APP_NAMESPACE``, the Application's plugin env as ``ARGOCD_ENV_<NAME>`` and its
parameters as ``PARAM_<NAME>``; stdout must be the manifests. A failure must leave stdout empty.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

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


def run(
    step: dict[str, list[str]], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    command = [*step["command"], *step.get("args", [])]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=120, check=False)


def cmp_env(bao: Bao, **extra: str) -> dict[str, str]:
    return bao.env(ARGOCD_APP_NAME="shop", ARGOCD_APP_NAMESPACE="shop", **extra)


def test_discover_finds_apps_with_placeholders(tmp_path: Path, bao: Bao) -> None:
    found = run(SPEC["discover"]["find"], app_copy(tmp_path, APP), cmp_env(bao))
    assert found.returncode == 0 and found.stdout.strip()
    plain = run(
        SPEC["discover"]["find"], app_copy(tmp_path / "p", {"a.yaml": "kind: X\n"}), cmp_env(bao)
    )
    assert plain.stdout.strip() == b""


def test_generate_gives_the_rendered_stream(tmp_path: Path, bao: Bao) -> None:
    out = run(
        SPEC["generate"], app_copy(tmp_path, APP), cmp_env(bao, ARGOCD_ENV_SEALOPS_KV_VERSION="2")
    )
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
    env = cmp_env(bao, PARAM_MODE="reference", PARAM_CONNECTION="vault", VAULT_TOKEN="")
    files = {"secret.yaml": APP["secret.yaml"]}
    out = run(SPEC["generate"], app_copy(tmp_path, files), env)
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
        sock.close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Hostile:
    id: str
    reason: str
    sidecar: dict[str, str]  # the sidecar's own env, over the Bao defaults ("" removes one)
    app: dict[str, str]  # ARGOCD_ENV_ names without the prefix; "{listener}" is replaced
    params: dict[str, str] = field(default_factory=dict)
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
        params={"PARAM_MODE": "inline"},
        refused="ARGOCD_ENV_SEALOPS_MODE",
    ),
    Hostile(
        "param-turns-off-deny-plaintext",
        "nor turn off the sidecar's deny-plaintext",
        {"SEALOPS_DENY_PLAINTEXT": "true"},
        {},
        params={"PARAM_DENY_PLAINTEXT": "false"},
        refused="ARGOCD_ENV_SEALOPS_DENY_PLAINTEXT",
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
    app = {
        f"ARGOCD_ENV_{k}": v.replace("{listener}", listener.address) for k, v in case.app.items()
    }
    env = cmp_env(bao, **case.sidecar, **app, **case.params)
    out = run(SPEC["generate"], app_copy(tmp_path, APP), env)
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
    env = cmp_env(
        bao,
        VAULT_ADDR="",
        VAULT_TOKEN="",
        ARGOCD_ENV_VAULT_ADDR=listener.address,
        ARGOCD_ENV_VAULT_TOKEN="app-own-token",
    )
    out = run(SPEC["generate"], app_copy(tmp_path, APP), env)
    assert out.returncode != 0 and out.stdout == b""  # the listener is no Vault
    assert listener.connections >= 1
    assert b"app-own-token" in listener.received
    assert bao.token.encode() not in listener.received


@pytest.mark.parametrize(
    "sidecar,params,want,reason",
    [
        (
            {},
            {"PARAM_MODE": "reference", "PARAM_CONNECTION": "vault"},
            "VaultSecret",
            "a parameter tightens inline to reference",
        ),
        (
            {"SEALOPS_MODE": "inline"},
            {"PARAM_MODE": "reference", "PARAM_CONNECTION": "vault"},
            "VaultSecret",
            "over the sidecar's explicit inline too",
        ),
        (
            {"SEALOPS_MODE": "reference"},
            {"PARAM_CONNECTION": "vault"},
            "VaultSecret",
            "no parameter: the sidecar's mode holds",
        ),
        ({}, {"PARAM_DENY_PLAINTEXT": "true"}, "refused", "a parameter turns deny-plaintext on"),
    ],
    ids=["param-reference", "param-reference-over-sidecar", "sidecar-reference", "param-deny"],
)
def test_an_application_may_tighten(
    tmp_path: Path,
    bao: Bao,
    sidecar: dict[str, str],
    params: dict[str, str],
    want: str,
    reason: str,
) -> None:
    files = {"secret.yaml": APP["secret.yaml"] + "---\n" + PLAINTEXT}
    if want == "VaultSecret":
        files = {"secret.yaml": APP["secret.yaml"]}
    out = run(SPEC["generate"], app_copy(tmp_path, files), cmp_env(bao, **sidecar, **params))
    if want == "refused":
        assert out.returncode != 0 and out.stdout == b"", reason
        assert "literal" in out.stderr.decode() or "plaintext" in out.stderr.decode()
        return
    assert out.returncode == 0, out.stderr.decode()
    (doc,) = yaml.safe_load_all(out.stdout)
    assert doc["kind"] == want, reason


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
    out = run(SPEC["generate"], app_copy(tmp_path, files), cmp_env(bao))
    assert out.returncode != 0
    assert out.stdout == b""
    lines = out.stderr.decode().strip().splitlines()
    assert lines == [
        "Error: deploy/deployment.yaml: Deployment shop/web: "
        "spec.template.spec.containers[0].env[0].value: Vault secret 'secret/db' has no field "
        "'hostname' (it has: database, host, password, port, username)"
    ]
