"""The project's own objects in a fresh emulator (or any cluster): its CRDs, namespaces."""

from __future__ import annotations

import contextlib
from pathlib import Path

import yaml

from sealer.api import CUSTOM_RESOURCE_DEFINITIONS as CRD_REF
from sealer.api import NAMESPACES
from sealer.kube import KubeConflict
from sealer.kubeclient import KubeApi

__all__ = ["CRDS", "apply_crds", "ensure_namespace"]

CRDS = Path(__file__).resolve().parents[1] / "deploy" / "crds"


def apply_crds(kube: KubeApi) -> int:
    """Create every CustomResourceDefinition in ``deploy/crds``; returns how many."""
    made = 0
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                kube.create(CRD_REF, None, doc)
                made += 1
    return made


def ensure_namespace(kube: KubeApi, name: str) -> None:
    """Create namespace ``name`` unless it exists."""
    with contextlib.suppress(KubeConflict):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        kube.create(NAMESPACES, None, body)
