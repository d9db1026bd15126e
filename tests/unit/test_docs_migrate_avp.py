"""docs/migrate-from-argocd-vault-plugin.md's deliberate differences: each names the tests that
pin it, and each of those tests exists, so a difference cannot be documented without one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "migrate-from-argocd-vault-plugin.md"
TESTS = {
    "test_avp_fixtures.py": ROOT / "tests" / "integration" / "render" / "test_avp_fixtures.py",
    "test_avp_parity.py": ROOT / "tests" / "unit" / "render" / "test_avp_parity.py",
    "test_engine.py": ROOT / "tests" / "unit" / "render" / "test_engine.py",
    "test_modifiers.py": ROOT / "tests" / "unit" / "render" / "test_modifiers.py",
    "test_placeholders.py": ROOT / "tests" / "unit" / "render" / "test_placeholders.py",
}


def _differences() -> list[list[str]]:
    text = GUIDE.read_text()
    head = "| sealops | argocd-vault-plugin | why | pinned by |"
    assert head in text, "the guide has no table of deliberate differences"
    rows = []
    for line in text[text.index(head) :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_every_difference_names_tests_that_exist() -> None:
    rows = _differences()
    assert len(rows) >= 10
    for sealops, _avp, why, pinned in rows:
        assert why, f"no reason given for: {sealops}"
        refs = re.findall(r"`(test_\w+\.py)(?:::(\w+))?", pinned)
        assert refs, f"no test pins: {sealops}"
        for file, name in refs:
            assert file in TESTS, f"{file} (for {sealops!r}) is not a known test file"
            source = TESTS[file].read_text()
            if name:
                assert re.search(rf"def {name}\b", source), f"{file}::{name} does not exist"
