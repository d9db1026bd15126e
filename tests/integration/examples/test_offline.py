"""Examples 01, 02 and 06: the real ``seal`` CLI, offline, as each README runs it."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sealer.keys import load_recipient
from tests.integration.examples.conftest import BIN, ROOT, sh_blocks

pytestmark = pytest.mark.integration


def opened(docs: list[dict[str, Any]]) -> dict[str, dict[str, bytes]]:
    """``seal unseal`` output -> {name: {key: bytes}}."""
    return {
        d["metadata"]["name"]: {k: base64.b64decode(v) for k, v in (d.get("data") or {}).items()}
        for d in docs
    }


def test_01_seal_a_secret(example: Any) -> None:
    ex = example("01-seal-a-secret")
    out = ex.run()

    sealed = ex.yaml("db-credentials.sealed.yaml")
    assert sealed["apiVersion"] == "sealops.dev/v1alpha1" and sealed["kind"] == "SealedSecret"
    annotations = sealed["metadata"]["annotations"]
    assert annotations["sealops.dev/scope"] == "strict"
    assert annotations["sealops.dev/sealed-with"].startswith("SHA256:")
    assert sealed["spec"]["template"]["metadata"]["labels"] == {"app": "shop"}
    assert set(sealed["spec"]["encryptedData"]) == {"username", "password"}
    assert b"correct-horse" not in ex.path("db-credentials.sealed.yaml").read_bytes()

    # Recovery gives back the exact bytes sealed from stdin.
    assert opened(ex.docs("recovered.yaml")) == {
        "db-credentials": {"username": b"shop", "password": b"correct-horse-battery-staple"}
    }
    assert "correct-horse" not in out  # the README only shows the keys
    # The namespace-wide value opened under another name; the strict one was refused.
    assert opened(ex.docs("mailer.yaml")) == {"mailer": {"smtp_password": b"example-smtp-pass"}}
    assert "refused, as it should be: strict scope" in out
    assert "seal check caught the private key" in out
    assert ex.yaml("shared.sealed.yaml")["metadata"]["annotations"]["sealops.dev/scope"] == (
        "namespace-wide"
    )


def fingerprint_of(cert: Path) -> str:
    return load_recipient(cert.read_bytes()).fingerprint


def test_02_several_clusters(example: Any) -> None:
    ex = example("02-several-clusters")
    ex.run(0, 3)  # keys, seal for both, each key opens
    prod, staging = fingerprint_of(ex.path("prod.pem")), fingerprint_of(ex.path("staging.pem"))
    sealed = ex.yaml("payments.sealed.yaml")
    assert sealed["metadata"]["annotations"]["sealops.dev/sealed-with"] == f"{prod},{staging}"
    assert len(sealed["spec"]["encryptedData"]["api_key"].split(",")) == 2
    expected = {"payments": {"api_key": b"example-api-key-0001"}}
    assert opened(ex.docs("from-prod.yaml")) == expected
    assert opened(ex.docs("from-staging.yaml")) == expected
    blob_for_prod = sealed["spec"]["encryptedData"]["api_key"].split(",")[0]

    ex.run(3)  # prod rotated: merge a value in, per-value hint
    prod2 = fingerprint_of(ex.path("prod-2.pem"))
    merged = ex.yaml("payments.sealed.yaml")
    assert merged["metadata"]["annotations"]["sealops.dev/sealed-with"] == (
        f"api_key={prod},{staging};webhook_secret={prod2},{staging}"
    )
    assert merged["spec"]["encryptedData"]["api_key"].split(",")[0] == blob_for_prod  # kept
    both = {
        "payments": {"api_key": b"example-api-key-0001", "webhook_secret": b"example-webhook-0002"}
    }
    assert opened(ex.docs("prod-after.yaml")) == both
    assert opened(ex.docs("staging-after.yaml")) == both
    # The old prod key alone cannot open the value sealed after the rotation.
    alone = subprocess.run(
        [str(BIN / "seal"), "unseal", "--private-key", "prod.key", "payments.sealed.yaml"],
        cwd=ex.dir,
        capture_output=True,
        check=False,
    )
    assert alone.returncode != 0 and alone.stdout == b""

    # Step 5: offline reencrypt with prod's old key keeps staging's blobs byte for byte.
    rotated = ex.yaml("payments.rotated.yaml")
    assert rotated["metadata"]["annotations"]["sealops.dev/sealed-with"] == f"{prod2},{staging}"
    for field in ("api_key", "webhook_secret"):
        kept = merged["spec"]["encryptedData"][field].split(",")[1]
        assert rotated["spec"]["encryptedData"][field].split(",")[1] == kept  # staging's
    assert (
        rotated["spec"]["encryptedData"]["webhook_secret"]
        == (merged["spec"]["encryptedData"]["webhook_secret"])
    )  # prod.key cannot open it: kept whole
    assert opened(ex.docs("prod-rotated.yaml")) == both
    assert opened(ex.docs("staging-rotated.yaml")) == both


def test_every_example_is_tested_and_safe_to_commit() -> None:
    """Each examples/NN-topic has a README with steps and a test_NN_ here; `seal check` (the
    repository's pre-commit hook) passes on every example file."""
    here = Path(__file__).parent
    tests = "".join(p.read_text() for p in here.glob("test_*.py"))
    folders = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
    assert [p.name[:3] for p in folders] == [f"{n:02d}-" for n in range(1, len(folders) + 1)]
    for folder in folders:
        assert sh_blocks(folder / "README.md"), folder.name
        assert f"def test_{folder.name[:2]}_" in tests, f"no test for {folder.name}"
    done = subprocess.run(
        [str(BIN / "seal"), "check", "examples"], cwd=ROOT, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
