"""The RSA work of opening a SealedSecret: planned, bounded and counted.

Private-key operations are the costly part of unsealing, and a SealedSecret (or a request to the
controller) decides how many it asks for. :func:`plan_private_key_ops` plans them from the key
hints before any RSA work and refuses, with :class:`WorkBoundError`, what is over
:data:`MAX_PRIVATE_KEY_OPS` or holds more than ``MAX_RECIPIENTS`` recipients per value;
:class:`Work` counts those actually made, for the controller's metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sealer.envelope import MAX_RECIPIENTS, recipient_count
from sealer.errors import ManifestError
from sealer.manifests import SealedSecretDoc
from sealer.reasons import Reason

__all__ = ["MAX_PRIVATE_KEY_OPS", "Fingerprinted", "Work", "WorkBoundError", "plan_private_key_ops"]


#: Private-key operations one object (or one HTTP request) may cost. With the key hint, opening a
#: value costs one; without it, one per recipient per key. About two seconds of RSA-4096 work.
MAX_PRIVATE_KEY_OPS = 512


@dataclass
class Work:
    """Private-key operations spent, counted as they are made, whether or not they succeed."""

    ops: int = 0


class WorkBoundError(ManifestError):
    """Opening the object would take more RSA work than the bound allows; refused before it."""

    reason: str = Reason.INVALID_SPEC


class Fingerprinted(Protocol):
    """A key known by its fingerprint: a :class:`KeyPair`, or a key a controller lists."""

    @property
    def fingerprint(self) -> str: ...


def plan_private_key_ops(
    sealed: SealedSecretDoc, keys: Sequence[Fingerprinted], *, max_ops: int = MAX_PRIVATE_KEY_OPS
) -> int:
    """The private-key operations opening ``sealed`` with ``keys`` is planned to take.

    One per value whose hint names a loaded key, else one per recipient per key. The controller
    plans each request with it; ``seal reencrypt`` sizes its /v1/rotate batches with it, given the
    keys the controller lists. Raises
    :class:`WorkBoundError`, naming the field and the bound, when a value holds more than
    ``MAX_RECIPIENTS`` recipients or the plan passes ``max_ops``. No RSA work is done here.
    """
    loaded = {k.fingerprint for k in keys}
    planned = 0
    for name, value in sealed.encrypted.items():
        count = recipient_count(value)
        if count > MAX_RECIPIENTS:
            raise WorkBoundError(
                f"holds {count:,} recipients; at most {MAX_RECIPIENTS} are allowed per value",
                where=sealed.ref,
                field=f"spec.encryptedData.{name}",
            )
        hint = sealed.sealed_with.get(name, ())
        hinted = len(hint) == count and any(fp in loaded for fp in hint)
        planned += 1 if hinted else count * max(1, len(keys))
    if planned > max_ops:
        raise WorkBoundError(
            f"opening its {len(sealed.encrypted)} value(s) would take {planned:,} private-key "
            f"operations; at most {max_ops} are allowed per object",
            where=sealed.ref,
            field="spec.encryptedData",
        )
    return planned
