"""argocd-vault-plugin's own fixture suite, re-expressed in ``tests/data/avp/``, run through
``seal render`` (a real process) against a real OpenBao holding avp's test data.

avp's ``cmd/generate_test.go`` renders ``fixtures/input/nonempty`` and compares with
``fixtures/output/all.yaml``; here the two are compared as parsed objects, types included
(``replicas: "2"`` is a string, ``targetPort: 80`` a number). The Vault data is avp's
(``pkg/helpers/test_helpers.go``): ``secret/`` is KV v1, as in Vault's test cluster, ``kv/`` KV v2;
the plugin logs in with an AppRole through avp's own variables (``AVP_AUTH_TYPE=approle``,
``AVP_ROLE_ID``, ``AVP_SECRET_ID``). The documented differences are pinned at the end, and every
failure is checked for one line, an empty stdout, and no Vault value in the output.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import Bao

pytestmark = pytest.mark.integration

DATA = Path(__file__).parents[2] / "data" / "avp"
NONEMPTY = DATA / "input" / "nonempty"
VAULT = json.loads((DATA / "vault.json").read_text())
APPROLE: dict[str, tuple[str, str]] = {}  # server address -> (role_id, secret_id)


@pytest.fixture(scope="module")
def avp_bao() -> Iterator[Bao]:
    """A server of its own: avp's ``secret/`` is KV v1, where the shared one's is KV v2."""
    server = Bao.start()
    try:
        admin = server.admin
        admin("DELETE", "sys/mounts/secret")
        for mount, version in VAULT["mounts"].items():
            admin.mount_kv(mount, kv_version=version)
        for write in VAULT["writes"]:
            mount = write["path"].split("/", 1)[0]
            admin.kv_put(write["path"], write["data"], kv_version=VAULT["mounts"][mount])
        server.policy("avp", "secret/*", "kv/*")
        APPROLE[server.address] = server.approle("avp", "avp")
        yield server
    finally:
        server.close()


def avp_env(bao: Bao, **extra: str) -> dict[str, str]:
    """avp's test environment (cmd/generate_test.go's TestMain): an AppRole, no token."""
    role_id, secret_id = APPROLE[bao.address]
    settings = {
        "VAULT_TOKEN": "",
        "AVP_TYPE": "vault",
        "AVP_AUTH_TYPE": "approle",
        "AVP_ROLE_ID": role_id,
        "AVP_SECRET_ID": secret_id,
    }
    return bao.env(**{**settings, **extra})


def seal_render(
    bao: Bao, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sealer", "render", *args],
        input=stdin,
        env=avp_env(bao, **(env or {})),
        capture_output=True,
        timeout=120,
        check=False,
    )


def typed(node: Any) -> Any:
    """``node`` with every scalar tagged by its type, so ``"2" != 2`` and ``1 != True``."""
    if isinstance(node, dict):
        return {key: typed(value) for key, value in node.items()}
    if isinstance(node, list):
        return [typed(value) for value in node]
    return (type(node).__name__, node)


def objects(text: bytes | str) -> list[Any]:
    return [typed(doc) for doc in yaml.safe_load_all(text) if doc is not None]


def vault_values() -> set[str]:
    """Every value avp's data holds, as text and as base64, nested ones included."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and len(node) >= 6:
            found.update({node, base64.b64encode(node.encode()).decode()})

    for write in VAULT["writes"]:
        walk(write["data"])
    return found


def assert_one_line_failure(result: subprocess.CompletedProcess[bytes], *says: str) -> str:
    err = result.stderr.decode()
    assert result.returncode != 0, err
    assert result.stdout == b"", "a failed render prints no manifest"
    assert len(err.strip().splitlines()) == 1, err
    for text in says:
        assert text in err, err
    for value in vault_values():
        assert value not in err, f"a Vault value reached stderr: {err}"
    for _role_id, secret_id in APPROLE.values():
        assert secret_id not in err, "the AppRole secret ID reached stderr"
    return err


# -- cmd/generate_test.go ---------------------------------------------------------------------


def test_nonempty_directory_gives_all_yaml(avp_bao: Bao) -> None:
    """ "will replace templates from local vault": the directory renders to all.yaml."""
    result = seal_render(avp_bao, str(NONEMPTY))
    assert result.returncode == 0, result.stderr.decode()
    assert objects(result.stdout) == objects((DATA / "output" / "all.yaml").read_text())


def test_ignored_secret(avp_bao: Bao) -> None:
    """ "will ignore templates with avp.kubernetes.io/ignore set to True"."""
    result = seal_render(avp_bao, str(NONEMPTY / "ignored-secret.yaml"))
    assert result.returncode == 0, result.stderr.decode()
    want = (DATA / "output" / "ignored-secret.yaml").read_text()
    assert objects(result.stdout) == objects(want)


def test_stdin(avp_bao: Bao) -> None:
    """ "will read from STDIN"."""
    result = seal_render(avp_bao, "-", stdin=(NONEMPTY / "full.yaml").read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    assert objects(result.stdout) == objects((DATA / "output" / "stdin-full.yaml").read_text())


def test_invalid_yaml_from_stdin(avp_bao: Bao) -> None:
    """ "will return invalid yaml error from STDIN": one line, naming the place."""
    result = seal_render(avp_bao, "-", stdin=(DATA / "input" / "invalid.yaml").read_bytes())
    assert_one_line_failure(result, "stdin")


def test_invalid_path_validation(avp_bao: Bao) -> None:
    """ "will return that path validation env is not valid": RE2 has no lookahead."""
    result = seal_render(avp_bao, str(NONEMPTY), env={"AVP_PATH_VALIDATION": r"^\/(?!\/)(.*?)"})
    assert_one_line_failure(result, "AVP_PATH_VALIDATION", "is not a valid regular expression")


def test_path_validation_allows_and_refuses(avp_bao: Bao) -> None:
    """pkg/kube's path-validation cases: a matching path renders, another is refused by name."""
    allowed = seal_render(
        avp_bao, str(NONEMPTY), env={"AVP_PATH_VALIDATION": r"^(secret|kv)/[a-z0-9/_]+$"}
    )
    assert allowed.returncode == 0, allowed.stderr.decode()
    assert objects(allowed.stdout) == objects((DATA / "output" / "all.yaml").read_text())
    refused = seal_render(avp_bao, str(NONEMPTY), env={"AVP_PATH_VALIDATION": r"^kv/"})
    assert_one_line_failure(
        refused, "deployment.yaml", "the path 'secret/testing' is disallowed by AVP_PATH_VALIDATION"
    )


# -- empty renders and stray YAML -------------------------------------------------------------


def test_empty_renders_are_errors(avp_bao: Bao, tmp_path: Path) -> None:
    """avp's empty fixtures: a directory without manifests, an empty stdin and a stream of
    comments each fail with one line (Argo CD would prune everything on an empty render)."""
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    (empty_dir / "README.md").write_text("no manifests here\n")
    cases = {
        "empty directory": seal_render(avp_bao, str(empty_dir)),
        "only empty documents": seal_render(avp_bao, str(DATA / "input" / "empty")),
        "empty stdin": seal_render(avp_bao, "-", stdin=b""),
        "comments only": seal_render(avp_bao, "-", stdin=(NONEMPTY / "excluded.yaml").read_bytes()),
    }
    for name, result in cases.items():
        err = assert_one_line_failure(result, "holds no Kubernetes objects")
        assert "prune" in err, name


def test_values_file_in_a_directory_is_an_error(avp_bao: Bao, tmp_path: Path) -> None:
    """A document without a kind is not a manifest; avp refuses it (Object 'Kind' is missing)."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "secret.yaml").write_text((NONEMPTY / "secret.yaml").read_text())
    (app / "values.yaml").write_text("replicaCount: 2\npassword: <path:secret/testing#name>\n")
    result = seal_render(avp_bao, str(app))
    assert_one_line_failure(result, "values.yaml", "not a Kubernetes object")


# -- configuration, in avp's words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"AVP_TYPE": "awssecretsmanager"}, "AVP_TYPE=awssecretsmanager is not supported"),
        ({"AVP_AUTH_TYPE": "github"}, "AVP_AUTH_TYPE=github is not supported"),
    ],
    ids=["avp-type", "auth-type"],
)
def test_unsupported_backend_or_auth(avp_bao: Bao, env: dict[str, str], says: str) -> None:
    result = seal_render(avp_bao, str(NONEMPTY), env=env)
    err = assert_one_line_failure(result, says)
    assert "SEALOPS_AUTH" not in err


# -- documented differences, each pinned --------------------------------------------------------


def test_difference_placeholder_in_a_key(avp_bao: Bao) -> None:
    """avp fills ``<path:…>: value`` keys (its secret_path_key_value fixture); sealops refuses
    them: keys are shown unmasked (kubectl describe, Argo CD's diff)."""
    result = seal_render(avp_bao, str(DATA / "differences" / "secret_path_key_value.yaml"))
    assert_one_line_failure(result, "a placeholder in a key is not filled")


def test_difference_number_inside_text(avp_bao: Bao, tmp_path: Path) -> None:
    """avp replaces the whole string by a number met inside it (``port-<target-port>`` → 80);
    sealops keeps the text around it."""
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n"
        "  annotations: {avp.kubernetes.io/path: kv/data/testing}\n"
        "spec: {ports: [{name: port-<target-port>, port: <target-port>}]}\n"
    )
    result = seal_render(avp_bao, str(manifest))
    assert result.returncode == 0, result.stderr.decode()
    (service,) = yaml.safe_load_all(result.stdout)
    assert service["spec"]["ports"] == [{"name": "port-80", "port": 80}]


# -- pkg/kube/template_test.go, TestNewTemplate --------------------------------------------------

VERSIONED = """apiVersion: v1
kind: Secret
metadata:
  name: my-app
  namespace: default
  annotations: {avp.kubernetes.io/path: kv/data/template-test%s}
stringData:
  new-value: <path:/kv/data/template-test#password#2>
  old-value: <password>
"""


def test_template_secret_version_and_leading_slash(avp_bao: Bao, tmp_path: Path) -> None:
    """ "will GetSecrets with version given in avp.kubernetes.io/secret-version", with avp's
    ``<path:/…#password#2>`` (a leading '/'); and "with latest version by default"."""
    avp_bao.admin.kv_put("kv/template-test", {"password": "original-value"})
    avp_bao.admin.kv_put("kv/template-test", {"password": "changed-value"})
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(VERSIONED % ', avp.kubernetes.io/secret-version: "1"')
    result = seal_render(avp_bao, str(pinned))
    assert result.returncode == 0, result.stderr.decode()
    (secret,) = yaml.safe_load_all(result.stdout)
    assert secret["stringData"] == {"new-value": "changed-value", "old-value": "original-value"}
    latest = tmp_path / "latest.yaml"
    latest.write_text(VERSIONED.replace("#password#2>", "#password#1>") % "")
    result = seal_render(avp_bao, str(latest))
    assert result.returncode == 0, result.stderr.decode()
    (secret,) = yaml.safe_load_all(result.stdout)
    assert secret["stringData"] == {"new-value": "original-value", "old-value": "changed-value"}


def test_template_path_validation_on_the_annotation(avp_bao: Bao, tmp_path: Path) -> None:
    """ "GetSecrets with path validation and invalid path": the annotation's path is checked."""
    manifest = tmp_path / "s.yaml"
    manifest.write_text(VERSIONED % "")
    result = seal_render(avp_bao, str(manifest), env={"AVP_PATH_VALIDATION": "/[A-Z]/"})
    assert_one_line_failure(
        result,
        "metadata.annotations.avp.kubernetes.io/path",
        "the path 'kv/data/template-test' is disallowed by AVP_PATH_VALIDATION restriction",
    )
    allowed = seal_render(avp_bao, str(manifest), env={"AVP_PATH_VALIDATION": "^([A-Za-z/-]*)$"})
    assert allowed.returncode == 0, allowed.stderr.decode()
