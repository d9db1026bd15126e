"""Offline ``seal`` commands never import the cluster, Vault or operator libraries.

Each command runs in a fresh interpreter; afterwards ``sys.modules`` must hold none of
``kubernetes``, ``hvac``, ``kopf`` (they cost start-up time and are not needed offline).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"
FORBIDDEN = ("kubernetes", "hvac", "kopf")

PROBE = """
import json, sys
from sealer.cli import cli
try:
    cli(args=sys.argv[1:], prog_name="seal", standalone_mode=False)
except SystemExit:
    pass
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"kubernetes", "hvac", "kopf"})
print(json.dumps(loaded), file=sys.stderr)
"""

SECRET = b"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {k: v}\n"

COMMANDS = [
    ("seal", ["--cert", str(DATA / "cert-2048.pem")], SECRET),
    (
        "create",
        ["create", "x", "-n", "y", "--from-literal", "a=b", "--cert", str(DATA / "cert-2048.pem")],
        b"",
    ),
    ("raw", ["raw", "--cert", str(DATA / "cert-2048.pem"), "-n", "a", "--name", "b"], b"value"),
    ("check", ["check", str(DATA / "fingerprints.txt")], b""),
    ("help", ["--help"], b""),
    (
        "render-without-placeholders",
        ["render", "-"],
        b"kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '<not-a-placeholder>'}\n",
    ),
    (
        "render-reference",
        ["render", "--mode", "reference", "--connection", "v", "-"],
        b"kind: Secret\nmetadata: {name: s}\nstringData: {a: '<vault:secret/app#k>'}\n",
    ),
]


@pytest.mark.parametrize(("args", "stdin"), [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_offline_command_imports_no_client_library(args: list[str], stdin: bytes) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
    last_line = proc.stderr.decode().strip().splitlines()[-1]
    assert json.loads(last_line) == [], f"offline `seal {' '.join(args)}` imported {last_line}"
