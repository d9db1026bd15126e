"""Errors of the renderer (`seal render`), beside the Vault layer's own.

    SealopsError
    ├── ManifestError             (sealer.errors) an input manifest is malformed
    │   └── RenderError           base of what the renderer raises itself
    │       ├── PlaceholderError  a placeholder does not parse, or cannot apply here
    │       ├── ModifierError     a modifier fails on its input (bad base64, bad JSON, …)
    │       └── PlaintextError    --deny-plaintext met a Secret holding literal data
    └── VaultError                (sealer.vault.errors) reading Vault failed

Every error is located (``where`` = ``<file>: <Kind ns/name>``, ``field`` = the dotted path of
the value) before the CLI prints it as one line. Messages name placeholders, paths, fields and
modifiers, never a value read from Vault: a modifier's message describes the input's shape only.
"""

from __future__ import annotations

from sealer.errors import ManifestError
from sealer.reasons import Reason

__all__ = ["ModifierError", "PlaceholderError", "PlaintextError", "RenderError"]


class RenderError(ManifestError):
    reason: str = Reason.INVALID_SPEC


class PlaceholderError(RenderError):
    pass


class ModifierError(RenderError):
    pass


class PlaintextError(RenderError):
    pass
