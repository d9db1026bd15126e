"""The source fingerprint on a SealedSecret's Secret, so that a restart costs no RSA work.

``sealops.dev/source-hash`` holds an HMAC, under a key derived from the data-hash key
(:mod:`controller.datahash`), over what made the Secret and what it was made into: the
SealedSecret's apiVersion, kind, namespace, name and uid, its whole ``spec`` (``encryptedData``,
``template``), its annotations (scope, template engine; not kubectl's last-applied copy), the
fingerprints of the keys that opened it (``status.sealedWith``), the data hash of the data
written (``sealops.dev/data-hash``, over every key) and the sealops version that rendered it.

When a SealedSecret still hashes to its Secret's fingerprint with the Secret's data hash, and
that data hash still matches the Secret's data, and every key that opened it is still loaded,
that Secret holds what unsealing would write again: the reconcile takes its data as it is and
makes no private-key operation. Anything else is a full reconcile: a changed source, an edited
Secret, data put back from an earlier write (its data hash is not the one bound here), a key
gone, another sealops version (its rendering may differ), or a lost hash key (then every digest
differs). Keyed, so the annotation can neither be forged by someone who edits the Secret nor
carried over to another object (the uid is in it).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from controller.datahash import DataHasher
from sealer.api import LAST_APPLIED, metadata
from sealer.version import __version__

__all__ = ["SourceHasher"]


class SourceHasher:
    def __init__(self, hasher: DataHasher):
        self._hasher = DataHasher(hasher.derive("source-hash"))

    def digest(self, body: Mapping[str, Any], fingerprints: Sequence[str], data_hash: str) -> str:
        meta = metadata(body)
        annotations = {
            k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED
        }
        source = {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "spec": body.get("spec"),
            "annotations": annotations,
            "keys": sorted(fingerprints),
            "data": data_hash,
            "version": __version__,
        }
        canonical = json.dumps(source, sort_keys=True, separators=(",", ":"), default=str)
        return self._hasher.digest({"source": canonical.encode()})

    def matches(
        self,
        expected: str | None,
        body: Mapping[str, Any],
        fingerprints: Sequence[str],
        data_hash: str,
    ) -> bool:
        # As bytes: compare_digest refuses str with non-ASCII text (a tenant may write any).
        return isinstance(expected, str) and hmac.compare_digest(
            expected.encode(), self.digest(body, fingerprints, data_hash).encode()
        )
