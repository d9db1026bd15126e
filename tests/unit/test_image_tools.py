"""The image's kustomize and helm: pinned, copied from their official images, documented.

No Docker engine here, so the Dockerfile is read: its final stage copies each tool from an image
named with an exact version (never ``latest``), from the path that image keeps it at, onto
``PATH``; and docs/operations.md's table ("The image") names the same versions and images.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs" / "operations.md"

# tool -> (image repository, path in that image)
TOOLS = {
    "kustomize": ("registry.k8s.io/kustomize/kustomize", "/app/kustomize"),
    "helm": ("docker.io/alpine/helm", "/usr/bin/helm"),
}
VERSION = re.compile(r"v?\d+\.\d+\.\d+")


def final_stage(text: str) -> list[str]:
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    last = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return lines[last:]


def copied(text: str) -> dict[str, tuple[str, str, str, str]]:
    """tool -> (image, tag, source path, destination) of each ``COPY --from=IMAGE:TAG``."""
    out = {}
    for line in final_stage(text):
        match = re.fullmatch(r"COPY --from=(\S+):(\S+) (\S+) (\S+)", line)
        if match:
            image, tag, source, dest = match.groups()
            out[Path(dest).name] = (image, tag, source, dest)
    return out


def documented(text: str) -> dict[str, tuple[str, str]]:
    """tool -> (version, image:tag) from the docs' table of the image's tools."""
    section = text.split("## The image", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\w+) \| (\S+) \| `([^`]+)`", section, re.M)
    return {tool: (version, image) for tool, version, image in rows}


def problems(dockerfile: str, docs: str) -> list[str]:
    found, table = copied(dockerfile), documented(docs)
    out = []
    for tool, (image, path) in TOOLS.items():
        if tool not in found:
            out.append(f"{tool}: no COPY --from=<image>:<version> in the final stage")
            continue
        got_image, tag, source, dest = found[tool]
        if got_image != image or source != path:
            out.append(f"{tool}: copied from {got_image} {source}, not {image} {path}")
        if not VERSION.fullmatch(tag):
            out.append(f"{tool}: the tag {tag} is not an exact version")
        if dest != f"/usr/local/bin/{tool}":
            out.append(f"{tool}: lands at {dest}, not on PATH as /usr/local/bin/{tool}")
        if table.get(tool) != (tag, f"{image}:{tag}"):
            out.append(f"{tool}: docs/operations.md says {table.get(tool)}, the image {tag}")
    return out


def test_the_image_carries_pinned_kustomize_and_helm_and_the_docs_agree() -> None:
    assert problems((ROOT / "Dockerfile").read_text(), DOCS.read_text()) == []


WRONG = [
    ("latest", "kustomize:v5.6.0 /app", "kustomize:latest /app", "not an exact version"),
    ("other-image", "docker.io/alpine/helm:", "docker.io/someone/helm:", "copied from"),
    ("docs-behind", "helm:3.18.1 /usr/bin/helm", "helm:3.19.0 /usr/bin/helm", "docs/operations"),
    ("not-on-path", "/usr/local/bin/helm", "/opt/helm", "not on PATH"),
    ("missing", "COPY --from=docker.io/alpine/helm", "# COPY --from=docker.io/alpine/helm",
     "no COPY"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "replacement", "expected"), [w[1:] for w in WRONG], ids=[w[0] for w in WRONG]
)
def test_a_wrong_dockerfile_is_found(text: str, replacement: str, expected: str) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert text in dockerfile, "the planted mistake must change the Dockerfile"
    found = problems(dockerfile.replace(text, replacement), DOCS.read_text())
    assert any(expected in p for p in found), found
