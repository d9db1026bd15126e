"""Reference mode end to end: an app holding Vault placeholders renders with no secret value.

The app is rendered by the real ``seal render --mode reference`` over a directory; the output is
searched for every seeded value holding the marker, raw and base64-encoded. The same app in
inline mode does contain them, which shows the search would find a leak. The values, the
reference stream and both runs' stderr also go to the whole-run leak scan (``tests/leaks.py``).
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from tests.integration.render.conftest import MARK, Bao
from tests.leaks import Ledger

pytestmark = pytest.mark.integration

APP = {
    "db.yaml": """apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  labels: {app: shop}
  annotations: {avp.kubernetes.io/path: secrets/data/my-db, avp.kubernetes.io/secret-version: "1"}
type: Opaque
stringData:
  username: <username>
  dsn: "postgres://<username>@db/<path:secret/data/testsecret#password>"
data:
  token: <path:secrets/data/my-db#username | base64encode>
  b64: dXNlcj08dXNlcm5hbWU+
""",
    "v1.yaml": """apiVersion: v1
kind: Secret
metadata: {name: legacy, namespace: shop}
stringData: {token: "<vault:kv1/app#token>"}
""",
    "deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: web
        env:
        - name: DB_USER
          valueFrom: {secretKeyRef: {name: db, key: username}}
""",
}


def seal_render(app: Path, bao: Bao, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sealer", "render", *args, str(app)],
        env=bao.env(),
        capture_output=True,
        timeout=120,
        check=False,
    )


def secret_values(bao: Bao) -> set[str]:
    """Every seeded value holding the marker, from the server itself."""
    found: set[str] = set()
    for path in ("secrets/data/my-db", "secret/data/testsecret", "kv1/app"):
        for version in (1, 2) if "/data/" in path else (None,):
            body = requests.get(
                f"{bao.address}/v1/{path}",
                params={"version": version} if version else None,
                headers={"X-Vault-Token": bao.token},
                timeout=10,
            ).json()
            data = body["data"]["data"] if "/data/" in path else body["data"]
            found |= {str(v) for v in data.values() if MARK in str(v)}
    return found


def test_reference_stream_holds_no_secret_value(
    request: pytest.FixtureRequest, tmp_path: Path, bao: Bao, leak_ledger: Ledger
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    for name, text in APP.items():
        (app / name).write_text(text)
    values = secret_values(bao)
    assert len(values) >= 6
    needles = values | {base64.b64encode(v.encode()).decode() for v in values}

    inline = seal_render(app, bao)
    assert inline.returncode == 0, inline.stderr.decode()
    assert any(n in inline.stdout.decode() for n in needles), (
        "the search must be able to find values"
    )

    reference = seal_render(app, bao, "--mode", "reference", "--connection", "vault")
    assert reference.returncode == 0, reference.stderr.decode()
    text = reference.stdout.decode()
    test = request.node.nodeid
    leak_ledger.plaintexts(test, values)
    leak_ledger.haystack(f"{test}: reference stream", reference.stdout)
    leak_ledger.haystack(f"{test}: render stderr", inline.stderr + reference.stderr)
    assert MARK not in text
    assert not [n for n in needles if n in text]
    kinds = [d["kind"] for d in yaml.safe_load_all(text)]
    assert kinds == ["VaultSecret", "Deployment", "VaultSecret"]
