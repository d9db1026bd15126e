"""The online `seal` commands reach the real controller through the emulator's service proxy.

`seal cert`, `seal` without `--cert`, `seal verify`, `seal keys` and controller-side
`seal reencrypt` use the kubeconfig, like kubectl; `--controller-url` goes direct. Errors are one
line. Also: every controller flag can be given as an environment variable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.controller import start_controller as launch
from sealer.api import ENDPOINTS, SERVICES
from sealer.keys import load_recipient
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.integration.controller.conftest import (
    Cluster,
    Controller,
    StartController,
    free_port,
)

pytestmark = pytest.mark.integration

SECRET = b"apiVersion: v1\nkind: Secret\nmetadata: {name: api, namespace: prod}\nstringData: {token: online-sealed-token}\n"


def expose(cluster: Cluster, controller: Controller) -> None:
    """A Service and Endpoints for the controller, as deploy/base has them in a real cluster."""
    port = int(controller.url.rsplit(":", 1)[1])
    cluster.kube.create(SERVICES, "sealops-system", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "sealops-controller", "namespace": "sealops-system"},
        "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": "http"}]},
    })  # fmt: skip
    cluster.kube.create(ENDPOINTS, "sealops-system", {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "sealops-controller", "namespace": "sealops-system"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": port}]}],
    })  # fmt: skip


def seal(
    cluster: Cluster, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sealer", *args],
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.fixture
def online(cluster: Cluster, start_controller: StartController) -> Controller:
    controller = start_controller()
    expose(cluster, controller)
    return controller


def test_cert_seal_verify_keys_through_the_service_proxy(
    cluster: Cluster, online: Controller, plaintexts: list[bytes], tmp_path: Path
) -> None:
    plaintexts.append(b"online-sealed-token")
    cert = seal(cluster, "cert")
    assert cert.returncode == 0, cert.stderr
    assert cert.stdout == online.get("/v1/cert.pem")
    sealed = seal(cluster, "-o", "yaml", stdin=SECRET)  # no --cert: fetched through the proxy
    assert sealed.returncode == 0, sealed.stderr
    (tmp_path / "api.yaml").write_bytes(sealed.stdout)
    verified = seal(cluster, "verify", str(tmp_path / "api.yaml"))
    assert verified.returncode == 0 and verified.stdout == b"", verified.stderr
    moved = sealed.stdout.replace(b"name: api", b"name: other")
    refused = seal(cluster, "verify", stdin=moved)
    assert refused.returncode == 1 and refused.stdout == b""
    (line,) = refused.stderr.decode().strip().splitlines()
    assert line.startswith("Error: ") and "cannot be unsealed" in line and "409" in line
    cluster.apply_sealed(yaml.safe_load(sealed.stdout))
    cluster.wait_ready("prod", "api")
    keys = seal(cluster, "keys", "-o", "json")
    assert keys.returncode == 0, keys.stderr
    (key,) = json.loads(keys.stdout)["keys"]
    assert key["sealing"] and key["sealedSecrets"] == 1
    table = seal(cluster, "keys").stdout.decode().splitlines()
    assert table[0].split()[:4] == ["FINGERPRINT", "CREATED", "SEALING", "SEALEDSECRETS"]


def test_reencrypt_online_keeps_scope_and_names_the_newest_key(
    cluster: Cluster, online: Controller, plaintexts: list[bytes]
) -> None:
    plaintexts.append(b"online-sealed-token")
    sealed = seal(cluster, "--scope", "namespace-wide", stdin=SECRET).stdout
    rotated = seal(cluster, "reencrypt", "-o", "json", stdin=sealed)
    assert rotated.returncode == 0, rotated.stderr
    doc: dict[str, Any] = json.loads(rotated.stdout)
    assert doc["metadata"]["annotations"]["sealops.dev/scope"] == "namespace-wide"
    assert (
        doc["spec"]["encryptedData"]["token"]
        != yaml.safe_load(sealed)["spec"]["encryptedData"]["token"]
    )
    direct = seal(cluster, "reencrypt", "--controller-url", online.url, stdin=sealed)
    assert direct.returncode == 0, direct.stderr


def _many(online: Controller, count: int, *, bad: int | None = None) -> bytes:
    """``count`` SealedSecrets sealed for the controller, one value each (one hinted
    private-key operation); ``bad``: that one holds 17 recipients, over the bound."""
    recipient = load_recipient(online.get("/v1/cert.pem"))
    out = []
    for i in range(count):
        plain = PlainSecret(name=f"s{i:03d}", namespace="prod", data={"token": b"batch-value"})
        doc = seal_secret(plain, [recipient])
        if i == bad:
            blob = doc["spec"]["encryptedData"]["token"]
            doc["spec"]["encryptedData"]["token"] = ",".join([blob] * 17)
        out.append(doc)
    return yaml.safe_dump_all(out).encode()


@pytest.mark.parametrize(
    ("count", "limited"),
    [
        pytest.param(150, False, id="150: over the 100-object bound, two requests"),
        pytest.param(600, True, id="600: past the 512-token bucket, 429s waited out"),
    ],
)
def test_reencrypt_online_more_than_one_request_holds(
    cluster: Cluster,
    online: Controller,
    plaintexts: list[bytes],
    tmp_path: Path,
    count: int,
    limited: bool,
) -> None:
    """The controller takes at most 100 objects and 512 private-key operations a request, and
    limits each client's rate: `seal reencrypt` sends batches under both and waits on 429."""
    plaintexts.append(b"batch-value")
    source = tmp_path / "many.yaml"
    source.write_bytes(_many(online, count))
    out = tmp_path / "rotated.yaml"
    rotated = seal(cluster, "reencrypt", "-w", str(out), str(source))
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout == b"" and rotated.stderr == b""
    docs = list(yaml.safe_load_all(out.read_bytes()))
    before = list(yaml.safe_load_all(source.read_bytes()))
    assert [d["metadata"]["name"] for d in docs] == [f"s{i:03d}" for i in range(count)]
    assert all(
        d["spec"]["encryptedData"]["token"] != b["spec"]["encryptedData"]["token"]
        for d, b in zip(docs, before, strict=True)
    ), "each one re-sealed"
    assert online.metric("sealops_private_key_operations_total") == count
    limited_count = online.metric("sealops_http_rate_limited_total")
    assert (limited_count > 0) is limited, limited_count


def test_reencrypt_online_writes_nothing_unless_every_batch_succeeded(
    cluster: Cluster, online: Controller, plaintexts: list[bytes], tmp_path: Path
) -> None:
    plaintexts.append(b"batch-value")
    source = tmp_path / "many.yaml"
    source.write_bytes(_many(online, 130, bad=120))  # the second batch is refused
    out = tmp_path / "rotated.yaml"
    refused = seal(cluster, "reencrypt", "-w", str(out), str(source))
    assert refused.returncode == 1 and refused.stdout == b""
    (line,) = refused.stderr.decode().strip().splitlines()
    assert line.startswith("Error: ") and "422" in line and "17 recipients" in line
    assert not out.exists()


def test_unreachable_controller_is_one_clear_line(cluster: Cluster, online: Controller) -> None:
    missing = seal(cluster, "cert", "--controller-namespace", "elsewhere")
    assert missing.returncode == 1 and missing.stdout == b""
    (line,) = missing.stderr.decode().strip().splitlines()
    assert "service elsewhere/sealops-controller" in line and "not found" in line
    down = seal(cluster, "cert", "--controller-url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "cannot reach the controller" in down.stderr.decode()


def test_flags_from_environment_variables(cluster: Cluster, tmp_path: Path) -> None:
    """Every flag is also SEALOPS_<FLAG>: here the port, the key size and the log format."""
    port = free_port()
    env = {
        "SEALOPS_HTTP_PORT": str(port),
        "SEALOPS_HTTP_HOST": "127.0.0.1",
        "SEALOPS_KEY_SIZE": "2048",
        "SEALOPS_LOG_FORMAT": "plain",
    }
    log_path = tmp_path / "env-controller.log"
    # No flag at all (listen=False): healthy on `port` only if SEALOPS_HTTP_PORT was taken.
    controller = launch(cluster.kubeconfig, log_path=log_path, port=port, listen=False, env=env)
    try:
        pem = urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/cert.pem", timeout=5).read()
        assert load_recipient(pem).public_key.key_size == 2048
    finally:
        controller.stop()
    first = (tmp_path / "env-controller.log").read_text().splitlines()[0]
    assert not first.startswith("{"), "SEALOPS_LOG_FORMAT=plain was taken"
