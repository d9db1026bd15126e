"""What each ``seal`` command writes where when it fails, exactly as the README states it.

The rule: exit non-zero, nothing on stdout, one ``Error: …`` line on stderr. The stated
exceptions: ``seal check`` findings go to stdout (its report) before its one error line;
``seal render --krm`` answers with a ``ResourceList`` carrying the error in ``results`` (the KRM
function contract), and the same one line on stderr (kustomize shows only the exit status); a
command-line mistake exits 2 with the usage text on stderr.
Every command has a failing case here, run as a user's shell runs it (a subprocess).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import Run, Seal, error_line

PLAIN = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\n"
FILES = {
    "plain.yaml": PLAIN + "stringData: {password: hunter2, user: admin}\n",
    "other.yaml": PLAIN + "data: {token: aHVudGVyMg==}\n",
    "placeholder.yaml": PLAIN + "stringData: {password: <path:secret/data/db#password>}\n",
}
RESOURCE_LIST = {
    "apiVersion": "config.kubernetes.io/v1",
    "kind": "ResourceList",
    "items": [yaml.safe_load(FILES["placeholder.yaml"])],
}
FINDING = re.compile(r"^[\w./-]+:\d+: \S")

# (id, argv, stdin, shape, why the command fails)
CASES: list[tuple[str, list[str], bytes, str, str]] = [
    ("seal-missing-file", ["nope.yaml"], b"", "error", "no such manifest"),
    ("seal-no-certificate", ["plain.yaml"], b"", "error", "no --cert and no cluster"),
    (
        "create-bad-key",
        ["create", "x", "-n", "ns", "--from-literal", "a b=c", "--cert", "cert-4096.pem"],
        b"",
        "error",
        "not a Secret key",
    ),
    ("raw-no-namespace", ["raw", "--scope", "strict"], b"v", "error", "strict needs one"),
    ("unseal-missing-key", ["unseal", "--private-key", "nope.pem"], b"", "error", "no key"),
    ("reencrypt-missing", ["reencrypt", "nope.yaml"], b"", "error", "no such manifest"),
    ("cert-no-cluster", ["cert"], b"", "error", "the test's home has no kubeconfig"),
    ("verify-missing", ["verify", "nope.yaml"], b"", "error", "no such manifest"),
    ("keys-no-cluster", ["keys"], b"", "error", "the test's home has no kubeconfig"),
    (
        "keygen-unwritable",
        ["keygen", "--private-key", "no/k.pem", "--cert", "no/c.pem"],
        b"",
        "error",
        "no such folder",
    ),
    ("migrate-not-bitnami", ["migrate", "plain.yaml"], b"", "error", "a Secret, not Bitnami's"),
    ("render-missing", ["render", "nope"], b"", "error", "no such path"),
    ("render-no-vault", ["render", "placeholder.yaml"], b"", "error", "VAULT_ADDR is not set"),
    ("check-missing-path", ["check", "plain.yaml", "nope"], b"", "error", "not a finding"),
    ("check-findings", ["check", "plain.yaml", "other.yaml"], b"", "findings", "plaintext"),
    (
        "krm-render-error",
        ["render", "--krm"],
        yaml.safe_dump(RESOURCE_LIST).encode(),
        "krm",
        "VAULT_ADDR is not set",
    ),
    ("krm-not-a-list", ["render", "--krm"], b"kind: Secret\n", "error", "not a ResourceList"),
    ("unknown-option", ["cert", "--bogus"], b"", "usage", "click's usage error"),
    ("missing-argument", ["create"], b"", "usage", "NAME is required"),
]


def _findings(run: Run) -> None:
    lines = run.text.splitlines()
    assert lines and all(FINDING.match(line) for line in lines), run.text
    assert {line.split(":", 1)[0] for line in lines} == {"plain.yaml", "other.yaml"}
    assert error_line(Run(run.code, b"", run.stderr)).startswith(
        f"Error: {len(lines)} finding(s) in 2 file(s)"
    )
    assert "hunter2" not in run.text + run.stderr


def _krm(run: Run) -> None:
    assert run.code == 1
    answer = yaml.safe_load(run.text)
    assert answer["kind"] == "ResourceList"
    assert answer["items"] == RESOURCE_LIST["items"], "the items come back unchanged"
    (result,) = answer["results"]
    assert result["severity"] == "error" and "VAULT_ADDR" in result["message"]
    assert run.stderr.splitlines() == [f"Error: {result['message']}"]


def _usage(run: Run) -> None:
    assert run.code == 2 and run.stdout == b""
    assert run.stderr.startswith("Usage: ") and run.stderr.splitlines()[-1].startswith("Error: ")


@pytest.mark.parametrize(
    ("argv", "stdin", "shape", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_what_a_failing_command_writes_where(
    seal: Seal,
    keys: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdin: bytes,
    shape: str,
    reason: str,
) -> None:
    monkeypatch.delenv("VAULT_ADDR", raising=False)  # the subprocess gets this environment
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    run = seal(*argv, stdin=stdin)
    if shape == "error":
        assert run.code == 1, (reason, run.stderr)
        error_line(run)  # nothing on stdout, one `Error:` line on stderr
    elif shape == "findings":
        _findings(run)
    elif shape == "krm":
        _krm(run)
    else:
        _usage(run)


def test_every_command_has_a_failing_case() -> None:
    commands = {"create", "raw", "unseal", "reencrypt", "cert", "verify", "keys", "keygen",
                "check", "migrate", "render"}  # fmt: skip
    covered = {argv[0] for _, argv, *_ in CASES if argv[0] in commands}
    assert covered == commands
    assert any(argv[0].endswith(".yaml") for _, argv, *_ in CASES), "plain `seal FILE` too"
