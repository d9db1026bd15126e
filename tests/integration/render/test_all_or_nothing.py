"""All or nothing on every output path of ``seal render``, with a render that fails halfway.

The earlier objects' placeholders are in OpenBao and were already filled when a later object
fails: its placeholder names a field Vault does not have, or is invalid. Whatever the path (a
stream on stdin, a directory, kustomize's exec plugin, a KRM ResourceList), no value of the
earlier objects may reach stdout or stderr: stdout is empty, or (``--krm``) the items are the
input's exactly, with one error result. ``seal -w`` is in tests/unit/test_cli_write.py.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.render.conftest import MARK, Bao
from tests.leaks import Ledger

pytestmark = pytest.mark.integration

EARLY = """apiVersion: v1
kind: ConfigMap
metadata:
  name: early
  annotations: {config.kubernetes.io/path: early.yaml}
data:
  token: <path:kv1/app#token>
  dsn: "pg://<path:secrets/data/my-db#username>@db"
---
apiVersion: v1
kind: Secret
metadata:
  name: early
  annotations: {config.kubernetes.io/path: early.yaml}
stringData: {pw: "<path:secret/data/testsecret#password>"}
data: {user: "<path:secrets/data/my-db#username | base64encode>"}
"""
LATE = {
    "missing": "stringData: {pw: '<path:secret/data/testsecret#nosuchfield>'}",
    "invalid": "stringData: {pw: '<path:secret/data/testsecret#password | nosuchmodifier>'}",
}
PLANTED = [f"{MARK}-v1-token", f"{MARK}-user-v2", f"{MARK}-v2"]
NEEDLES = [*PLANTED, *(base64.b64encode(v.encode()).decode() for v in PLANTED)]


def late(case: str) -> str:
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: late\n"
        "  annotations: {config.kubernetes.io/path: late.yaml}\n" + LATE[case] + "\n"
    )


def seal_render(
    bao: Bao, *args: str, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sealer", "render", *args],
        input=stdin,
        env=bao.env(),
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )


def assert_nothing_leaked(
    request: pytest.FixtureRequest, ledger: Ledger, out: subprocess.CompletedProcess[bytes]
) -> None:
    ledger.plaintexts(request.node.nodeid, PLANTED)
    ledger.haystack(f"{request.node.nodeid}: stdout", out.stdout)
    ledger.haystack(f"{request.node.nodeid}: stderr", out.stderr)
    for needle in NEEDLES:
        assert needle.encode() not in out.stdout, "a value of an earlier object on stdout"
        assert needle.encode() not in out.stderr, "a value on stderr"


def test_the_earlier_objects_do_render(bao: Bao) -> None:
    """Without the failing object the same input holds every planted value: the searches below
    would find them."""
    out = seal_render(bao, "-", stdin=EARLY.encode())
    assert out.returncode == 0, out.stderr.decode()
    assert all(n.encode() in out.stdout for n in PLANTED[:2])


@pytest.mark.parametrize("case", sorted(LATE))
@pytest.mark.parametrize("path", ["stream", "directory", "kustomize-plugin"])
def test_text_output_is_empty(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    bao: Bao,
    leak_ledger: Ledger,
    case: str,
    path: str,
) -> None:
    (tmp_path / "early.yaml").write_text(EARLY)
    (tmp_path / "late.yaml").write_text(late(case))
    if path == "stream":
        out = seal_render(bao, "-", stdin=(EARLY + "---\n" + late(case)).encode())
    elif path == "directory":
        out = seal_render(bao, str(tmp_path))
    else:
        config = tmp_path / "renderer.yaml"
        config.write_text(
            "apiVersion: sealops.dev/v1alpha1\nkind: SecretRenderer\nmetadata: {name: r}\n"
            "files: [early.yaml, late.yaml]\n"
        )
        out = seal_render(bao, "--kustomize-plugin", str(config), cwd=tmp_path)
    assert out.returncode != 0 and out.stdout == b""
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "Secret late" in lines[0] and "stringData.pw" in lines[0], lines
    assert_nothing_leaked(request, leak_ledger, out)


@pytest.mark.parametrize("case", sorted(LATE))
@pytest.mark.parametrize("mode", ["inline", "reference"])
def test_krm_returns_the_items_as_they_came(
    request: pytest.FixtureRequest, bao: Bao, leak_ledger: Ledger, case: str, mode: str
) -> None:
    items = [*yaml.safe_load_all(EARLY), yaml.safe_load(late(case))]
    if mode == "reference":  # placeholders in Secrets only; a modifier with no template fails
        items = [i for i in items if i["kind"] == "Secret"]
        items[-1]["stringData"]["pw"] = "<path:secret/data/testsecret#password | jsonParse>"
    resource_list = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
        "functionConfig": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "render"},
            "data": {"mode": mode, "connection": "vault"},
        },
    }
    out = seal_render(bao, "--krm", stdin=yaml.safe_dump(resource_list).encode())
    assert out.returncode == 1, out.stderr.decode()
    back = yaml.safe_load(out.stdout)
    assert back["items"] == items, "the items come back exactly as they came in"
    assert back["functionConfig"] == resource_list["functionConfig"]
    (result,) = back["results"]
    assert result["severity"] == "error"
    assert "\n" not in result["message"] and "Secret late" in result["message"]
    assert result["resourceRef"] == {"apiVersion": "v1", "kind": "Secret", "name": "late"}
    assert result["field"] == {"path": "stringData.pw"}
    assert result["file"] == {"path": "late.yaml"}
    assert_nothing_leaked(request, leak_ledger, out)


NAMED_BY_VAULT = """apiVersion: v1
kind: ConfigMap
metadata: {name: "<path:kv1/app#token>"}
data: {a: "<path:secret/data/testsecret#nosuchfield>"}
"""


@pytest.mark.parametrize("krm", [False, True], ids=["stream", "krm"])
def test_a_name_filled_from_vault_stays_out_of_the_error(
    request: pytest.FixtureRequest, bao: Bao, leak_ledger: Ledger, krm: bool
) -> None:
    """The object is named in the error as it came in (the placeholder), not as filled."""
    if krm:
        items = [yaml.safe_load(NAMED_BY_VAULT)]
        stdin = yaml.safe_dump({"kind": "ResourceList", "items": items}).encode()
        out = seal_render(bao, "--krm", stdin=stdin)
        (result,) = yaml.safe_load(out.stdout)["results"]
        assert result["resourceRef"]["name"] == "<path:kv1/app#token>"
        assert "ConfigMap <path:kv1/app#token>: data.a" in result["message"]
    else:
        out = seal_render(bao, "-", stdin=NAMED_BY_VAULT.encode())
        assert b"ConfigMap <path:kv1/app#token>: data.a" in out.stderr
    assert out.returncode != 0
    assert_nothing_leaked(request, leak_ledger, out)
