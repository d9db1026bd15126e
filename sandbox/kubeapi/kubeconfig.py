"""A kubeconfig that points clients (kubectl, the ``kubernetes`` package, kopf) at the emulator.

It carries a placeholder bearer token: the emulator authenticates nobody, but some clients refuse
to run without credentials of some kind.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def render(url: str, *, namespace: str = "default") -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubeapi", "cluster": {"server": url}}],
        "users": [{"name": "kubeapi", "user": {"token": "kubeapi-emulator"}}],
        "contexts": [
            {
                "name": "kubeapi",
                "context": {"cluster": "kubeapi", "user": "kubeapi", "namespace": namespace},
            }
        ],
        "current-context": "kubeapi",
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: Path, url: str, *, namespace: str = "default") -> Path:
    path.write_text(render(url, namespace=namespace))
    return path
