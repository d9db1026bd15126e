"""The renderer plugin, `seal render`: fill Vault placeholders, or turn them into VaultSecrets.

For Argo CD (a ConfigManagementPlugin sidecar, ``deploy/argocd/``) and kustomize (a KRM function
or a legacy exec plugin). Modules, in the order a run uses them:

* :mod:`.inputs` — directories, kustomizations, Helm charts, files, streams → documents;
* :mod:`.files` — what may be read from an app directory (no link out, no FIFO or device), size
  bounds, and running kustomize / helm with bounded output;
* :mod:`.placeholders` — the placeholder grammar (argocd-vault-plugin's and ``<vault:…>``);
* :mod:`.engine` — inline and reference modes, one read per secret, parallel reads;
* :mod:`.modifiers` / :mod:`.jsonpath` — argocd-vault-plugin's modifiers;
* :mod:`.reference` — Secret → VaultSecret;
* :mod:`.krm` — ResourceList in and out;
* :mod:`.config` — Vault settings from ``VAULT_*`` and ``SEALOPS_*``, and the allow-list of what
  an Argo CD Application may set through ``ARGOCD_ENV_*``.

Only :mod:`sealer.vault` talks to Vault; nothing here imports kubernetes or kopf.
"""

from __future__ import annotations

from sealer.render.config import default_kv_version, vault_config
from sealer.render.engine import RenderFailed, RenderOptions, render
from sealer.render.errors import ModifierError, PlaceholderError, PlaintextError, RenderError
from sealer.render.inputs import Document, load_path, load_stream
from sealer.render.placeholders import Placeholder, split
from sealer.render.reference import ConnectionRef

__all__ = [
    "ConnectionRef",
    "Document",
    "ModifierError",
    "Placeholder",
    "PlaceholderError",
    "PlaintextError",
    "RenderError",
    "RenderFailed",
    "RenderOptions",
    "default_kv_version",
    "load_path",
    "load_stream",
    "render",
    "split",
    "vault_config",
]
