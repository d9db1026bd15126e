"""Planted values through every template error class, over every path a message takes.

The attack (issue: "Secret values in errors"): with ``password=PLANTVALUE123`` and the template
``{x: "{{ {}[password] }}"}``, Ready said ``'dict object' has no attribute 'PLANTVALUE123'``, and
the Event and the controller's debug log said it too; ``selectattr``, ``map(attribute=…)`` and
VaultSecret templates leaked the same way.

Every case of ``tests/unit/test_template_errors.py`` (one per exception class Jinja or Python
raises, with the planted values) becomes a SealedSecret for the real controller, logging at
debug level. Each must end ``Ready=False InvalidSpec`` with the unit test's message, and an
Event; the planted values must be in none of: statuses, Events, the controller's log, the
answers of ``/v1/verify`` and ``/v1/rotate`` (which never render templates, and say so by
answering without one), and ``seal unseal``'s stderr (which does render them). VaultSecret
templates go through the same renderer: a few of the quoting cases are run through OpenBao too.
The ``plaintexts`` fixture scans logs, Events and statuses at teardown and gives everything to
the whole-run ledger; the HTTP answers and the CLI's output are given to it here.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sealer.api import EVENTS, SECRETS
from sealer.keys import load_recipient
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.integration.security.conftest import Cluster, Env, StartController, wait_for
from tests.leaks import Ledger
from tests.unit.test_template_errors import CASES, PLANTED

pytestmark = pytest.mark.integration

NS = "leaky"
VAULT_CASES = ("undefined-subscript", "undefined-selectattr", "value-error-quotes", "key-error")


def expected_message(kind: str, name: str, case_id: str) -> str:
    _, _, _, _, category, line, _ = next(c for c in CASES if c[0] == case_id)
    return f"{kind} {NS}/{name}: template.data.x: " + (f"line {line}: " if line else "") + category


def test_template_errors_leak_nowhere(
    request: pytest.FixtureRequest,
    cluster: Cluster,
    start_controller: StartController,
    plaintexts: list[bytes],
    leak_ledger: Ledger,
    tmp_path: Path,
) -> None:
    plaintexts.extend(PLANTED.values())
    controller = start_controller("--rate-limit", "1000", "--rate-burst", "1000")
    cert = controller.get("/v1/cert.pem")
    docs = {}
    for case_id, template, *_ in CASES:
        doc = seal_secret(
            PlainSecret(name=case_id, namespace=NS, data=dict(PLANTED)), [load_recipient(cert)]
        )
        doc["spec"]["template"]["data"] = {"x": template}
        cluster.apply_sealed(doc)
        docs[case_id] = doc

    outputs: dict[str, str] = {}
    for case_id in docs:
        condition = cluster.wait_ready(NS, case_id, status="False")
        assert condition["reason"] == "InvalidSpec", (case_id, condition)
        assert condition["message"] == expected_message("SealedSecret", case_id, case_id)
        assert cluster.secret(NS, case_id) is None
    events = wait_for(
        lambda: (
            (
                e := {
                    (ev.get("involvedObject") or {}).get("name"): ev
                    for ev in cluster.kube.list(EVENTS, NS)
                    if ev.get("reason") == "InvalidSpec"
                }
            )
            and set(docs) <= set(e)
            and e
        ),
        what="an InvalidSpec Event for every case",
    )
    for case_id in docs:
        assert events[case_id]["message"] == expected_message("SealedSecret", case_id, case_id)
    log = controller.logs()
    assert "DEBUG" in log.upper() and NS in log, "the log at debug level covers these objects"
    logged = [c for c in docs if f"SealedSecret {NS}/{c}: template.data.x: " in log]
    assert len(logged) == len(docs), "the debug log carries every message (the status patch)"

    # HTTP: /v1/verify and /v1/rotate open values but render no template.
    for case_id, doc in docs.items():
        status, body = controller.post("/v1/verify", doc)
        assert (status, body) == (200, b"OK\n"), (case_id, status, body[:200])
        status, body = controller.post("/v1/rotate", doc)
        assert status == 200, (case_id, status, body[:200])
        outputs[f"rotate {case_id}"] = body.decode()

    # The CLI: seal unseal renders templates, with the controller's own private key.
    (key_secret,) = [
        s
        for s in cluster.kube.list(SECRETS, "sealops-system")
        if s.get("type") == "kubernetes.io/tls"
    ]
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(base64.b64decode(key_secret["data"]["tls.key"]))
    key_file.chmod(0o600)
    for case_id, doc in docs.items():
        sealed_file = tmp_path / f"{case_id}.yaml"
        sealed_file.write_text(yaml.safe_dump(doc))
        run = subprocess.run(
            [sys.executable, "-m", "sealer", "unseal", "--private-key", str(key_file),
             str(sealed_file)],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        stderr = run.stderr.decode()
        assert run.returncode != 0 and run.stdout == b"", (case_id, run.returncode)
        want = expected_message("SealedSecret", case_id, case_id)
        assert stderr == f"Error: {want}\n", (case_id, stderr)
        outputs[f"seal unseal {case_id} stderr"] = stderr

    hits = leak_ledger.planted(request.node.nodeid, PLANTED.values(), outputs)
    assert hits == []


def test_vault_secret_template_errors_leak_nowhere(
    env: Env, start_controller: StartController
) -> None:
    """The same renderer for VaultSecrets: the values come from OpenBao."""
    mount = "secret"
    path = f"{mount}/template-leaks/app"
    env.put(path, {k: v.decode() for k, v in PLANTED.items()})
    env.bao.policy("read-template-leaks", f"{mount}/data/template-leaks/*")
    env.connection(NS, "vault", env.token_auth(NS, env.bao.new_token("read-template-leaks")))
    for case_id in VAULT_CASES:
        template = next(c[1] for c in CASES if c[0] == case_id)
        env.vault_secret(
            NS,
            case_id,
            data=[{"key": k, "ref": f"{path}#{k}"} for k in PLANTED],
            target={"template": {"data": {"x": template}}},
        )
    start_controller()
    for case_id in VAULT_CASES:
        ready = env.wait_ready(NS, case_id, status="False", reason="InvalidSpec")
        assert ready["message"] == expected_message("VaultSecret", case_id, case_id)
        assert env.secret(NS, case_id) is None
        assert any(e.get("reason") == "InvalidSpec" for e in env.events(NS, case_id))
