"""The whole-run leak scanner finds what it is for: a value of one test in another test's output.

Self-tests of ``tests/leaks.py``: the ledger's search (raw and base64, across tests, previews that
do not repeat the value), and the plugin end to end: a pytest run in which test A registers a
value and test B's output holds it fails (exit code 1, a ``LEAK:`` line), and the same run
without the leak passes.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from tests.leaks import Ledger

ROOT = Path(__file__).parents[2]


def test_a_value_of_one_test_in_another_tests_output_is_found(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.plaintexts("test_a", [b"hunter2-of-test-a", "also-from-a"])
    ledger.haystack("test_a: logs", "nothing here")
    ledger.haystack("test_b: logs", "INFO reconciled value=hunter2-of-test-a\n")
    (leak,) = ledger.scan()
    assert (leak.value_from, leak.found_in, leak.form) == ("test_a", "test_b: logs", "raw")
    assert "hunter2" not in str(leak), "the report must not repeat the value"


def test_base64_of_a_value_is_found(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.plaintexts("test_a", [b"\x00binary\xffsecret"])
    encoded = base64.b64encode(b"\x00binary\xffsecret").decode()
    ledger.haystack("test_b: Events", f'{{"message": "data {encoded}"}}')
    assert [leak.form for leak in ledger.scan()] == ["base64"]


@pytest.mark.parametrize(
    ("value", "haystack"),
    [
        (b"short", "a short word"),  # below MIN_LENGTH: would hit by chance
        (b"not-leaked-value", "unrelated output"),
    ],
    ids=["too-short-is-ignored", "absent"],
)
def test_no_false_hits(tmp_path: Path, value: bytes, haystack: str) -> None:
    ledger = Ledger(tmp_path)
    ledger.plaintexts("test_a", [value])
    ledger.haystack("test_b", haystack)
    assert ledger.scan() == []


PLANTED = """
from tests.leaks import Ledger

def test_a(leak_ledger: Ledger) -> None:
    leak_ledger.plaintexts("test_a", [b"planted-secret-value-42"])
    leak_ledger.haystack("test_a: log", "clean")

def test_b(leak_ledger: Ledger) -> None:
    leak_ledger.haystack("test_b: log", "OUTPUT")
"""


@pytest.mark.parametrize(
    ("output", "code"),
    [("oops planted-secret-value-42 in a log", 1), ("a clean log", 0)],
    ids=["planted-leak-fails-the-run", "clean-run-passes"],
)
def test_the_session_check_fails_a_run_with_a_leak(tmp_path: Path, output: str, code: int) -> None:
    test_file = tmp_path / "test_planted.py"
    test_file.write_text(PLANTED.replace("OUTPUT", output))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.leaks", "--noconftest", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert run.returncode == code, run.stdout + run.stderr
    assert "whole-run leak scan: 1 plaintexts x 2 haystacks (" in run.stdout
    assert ("LEAK: raw value pla… of test_a found in test_b: log" in run.stdout) == bool(code)
    assert "planted-secret-value-42" not in run.stdout.replace(output, "")
