"""docs/security.md's threat model: every row names tests, and every test it names exists.

The table in "Who can write what, and what it reaches" is a promise that each actor's limits are
tried by a test. A renamed or deleted test would leave a row with nothing behind it; this fails
first. Anchors (``#tenancy``) must name a heading of the page.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "security.md"


def _threat_rows() -> list[list[str]]:
    text = PAGE.read_text()
    section = text.split("### Who can write what, and what it reaches", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[1:]]


def test_every_row_of_the_threat_model_names_tests() -> None:
    rows = _threat_rows()
    assert len(rows) >= 8
    for row in rows:
        assert len(row) == 5, row[0]
        assert re.search(r"`tests/[^`]+\.py", row[4]), f"{row[0]}: no test named"


def test_every_test_the_page_names_exists() -> None:
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", PAGE.read_text())
    assert named
    for path, function in named:
        source = ROOT / path
        assert source.is_file(), f"{path} does not exist"
        if function:
            assert re.search(rf"^def {function}\(", source.read_text(), re.M), f"{path}::{function}"


def test_every_anchor_names_a_heading() -> None:
    text = PAGE.read_text()
    headings = {
        re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, re.M)
    }
    for anchor in re.findall(r"\]\(#([\w-]+)\)", text):
        assert anchor in headings, anchor


def test_no_file_cites_documents_outside_the_repository() -> None:
    """The repository's docs stand alone: no file points at design notes kept elsewhere."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False
    ).stdout.split(b"\0")
    # The names are split so that this file does not itself match.
    cites = re.compile(rb"DESIGN \xc2\xa7|\.\./" + rb"shared/|K8S_" + rb"TESTING")
    offenders = [
        name.decode()
        for name in listed
        if name
        and (ROOT / name.decode()).is_file()
        and cites.search((ROOT / name.decode()).read_bytes())
    ]
    assert offenders == []
