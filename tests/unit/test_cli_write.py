"""``seal -w FILE`` and ``seal`` to stdout are all or nothing: a stream whose later Secret fails
writes no file (or leaves the old one byte for byte), prints nothing, and the earlier Secret's
values appear nowhere. ``seal render``'s paths are in tests/integration/render/test_all_or_nothing.py.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.conftest import Seal, error_line

PLANTED = "planted-S3CR-value-0001"
GOOD = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "early", "namespace": "prod"},
    "stringData": {"pw": PLANTED},
}
LATE: dict[str, dict[str, Any]] = {
    "bad-base64": {"data": {"k": "not base64!"}},
    "list-value": {"stringData": {"k": ["a", "list"]}},
}


def stream(case: str) -> bytes:
    late = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "late", "namespace": "prod"}}
    return yaml.safe_dump_all([GOOD, {**late, **LATE[case]}]).encode()


def assert_no_value(*texts: bytes | str) -> None:
    encoded = base64.b64encode(PLANTED.encode()).decode()
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert PLANTED.encode() not in data and encoded.encode() not in data


@pytest.mark.parametrize("case", sorted(LATE))
@pytest.mark.parametrize("output", ["yaml", "json"])
def test_a_failing_stream_writes_nothing(
    seal: Seal, keys: dict[str, Path], tmp_path: Path, case: str, output: str
) -> None:
    cert = str(keys["cert-2048.pem"])
    good = seal.ok("--cert", cert, "-o", output, stdin=yaml.safe_dump(GOOD).encode())
    assert good.stdout, "the first Secret alone seals"

    printed = seal("--cert", cert, "-o", output, stdin=stream(case))
    line = error_line(printed)  # stdout empty, one line
    assert "Secret prod/late" in line
    assert_no_value(printed.stdout, printed.stderr)

    fresh = tmp_path / "fresh.yaml"
    run = seal("--cert", cert, "-o", output, "-w", str(fresh), stdin=stream(case))
    error_line(run)
    assert not fresh.exists(), "no file is written"
    assert_no_value(run.stderr)

    old = tmp_path / "old.yaml"
    old.write_bytes(good.stdout)
    run = seal("--cert", cert, "-o", output, "-w", str(old), stdin=stream(case))
    error_line(run)
    assert old.read_bytes() == good.stdout, "the old file is untouched"
    assert not list(tmp_path.glob("*.tmp")), "no temporary file is left"
