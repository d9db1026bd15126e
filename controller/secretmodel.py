"""What the Secret writer (:mod:`controller.secretwriter`) takes and gives: the desired Secret,
its owner and policy, the result, the refusals, and the data codec.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sealer.api import GROUP
from sealer.errors import SealopsError
from sealer.reasons import Reason
from sealer.secretdata import SecretDataError, decode_value

__all__ = [
    "DesiredSecret",
    "Owner",
    "Policy",
    "ReservedMetadata",
    "SecretNotOwned",
    "UpdateFailed",
    "WriteForbidden",
    "WriteResult",
    "decode_data",
    "encode_data",
]


class SecretNotOwned(SealopsError):
    reason: str = Reason.SECRET_NOT_OWNED


class WriteForbidden(SealopsError):
    """A write no user's object may cause (into the controller's namespace, over a key)."""

    reason: str = Reason.FORBIDDEN


class ReservedMetadata(SealopsError):
    reason: str = Reason.INVALID_SPEC


class UpdateFailed(SealopsError):
    reason: str = Reason.UPDATE_FAILED


class Policy(enum.Enum):
    OWNER = "Owner"
    MERGE = "Merge"
    ORPHAN = "Orphan"


@dataclass(frozen=True)
class Owner:
    api_version: str
    kind: str
    name: str
    uid: str
    #: An apiVersion whose object of this kind and name may hand its Secret over to this one.
    adopts: str | None = None

    @property
    def tag(self) -> str:
        """``Kind/name`` (``sealops.dev/owned-by``); ``Kind.group/name`` for another group's."""
        group = self.api_version.rpartition("/")[0]
        kind = self.kind if group == GROUP else f"{self.kind}.{group}"
        return f"{kind}/{self.name}"

    def adopted(self, ref: Mapping[str, Any]) -> bool:
        """Whether ``ref`` is the controller reference of the object this one replaces."""
        return bool(
            self.adopts is not None
            and ref.get("controller")
            and ref.get("apiVersion") == self.adopts
            and ref.get("kind") == self.kind
            and ref.get("name") == self.name
        )

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
        }


@dataclass(frozen=True)
class DesiredSecret:
    name: str
    namespace: str
    data: dict[str, bytes] = field(repr=False)
    type: str = "Opaque"
    immutable: bool | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    #: The controller's own annotations (under ``sealops.dev/``, which template metadata may not
    #: use): the source fingerprint (:mod:`controller.sourcehash`).
    marks: dict[str, str] = field(default_factory=dict)
    #: The user's object this Secret is written for, and where its template metadata sits in it,
    #: for messages that name the user's field (``VaultSecret shop/app``,
    #: ``spec.target.template.metadata``).
    source: str = ""
    metadata_field: str = "spec.template.metadata"

    @property
    def ref(self) -> str:
        return f"Secret {self.namespace}/{self.name}"


@dataclass(frozen=True)
class WriteResult:
    action: str  # created | updated | unchanged
    secret: dict[str, Any] = field(repr=False)
    data_changed: bool = False  # an existing Secret's data changed (workloads may need a restart)


def decode_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    out = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = decode_value(value, key=key)
        except SecretDataError:
            out[key] = b"\x00invalid"  # never equal to real data: counts as drift
    return out


def encode_data(data: Mapping[str, bytes]) -> dict[str, str]:
    return {k: base64.b64encode(v).decode("ascii") for k, v in sorted(data.items())}
