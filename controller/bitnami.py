"""Bitnami's SealedSecrets reconciled where they are (``--bitnami-compat``): the swap in place.

:class:`BitnamiSealedSecretReconciler` is the SealedSecret sync
(:class:`~controller.sealedsecrets.SealedSecretReconciler`) for ``bitnami.com/v1alpha1`` objects,
on the same skeleton, queue and error table. What differs, as Bitnami's controller does it:

- the scope comes from Bitnami's annotations on the object (``sealedsecrets.bitnami.com/
  namespace-wide|cluster-wide: "true"``, read by :func:`sealer.manifests.parse_sealed_secret`);
- the status gets Bitnami's ``Synced`` condition beside ``Ready``
  (:func:`controller.reporting.synced_condition`), and no fields Bitnami's CRD would prune;
- the Secret is written by the one writer, its policy chosen by Bitnami's annotations, each
  honoured only when exactly ``"true"``: ``patch`` on the existing Secret is Merge (our keys
  into it, the others kept), ``skip-set-owner-references`` on the template is Orphan (no
  ownerReference), else Owner; ``managed`` on the existing Secret lets it be taken over (and
  with ``patch``, controlled). A Secret that Bitnami's controller made (its controller reference
  is this object) is this object's already: taken over in place, without ``SecretNotOwned``;
- a Secret a sealops SealedSecret has taken over (:meth:`~controller.secretwriter.Owner.adopted`)
  is never taken back: ``SecretNotOwned``, until the Bitnami object is deleted;
- ``spec.template.data`` is Go ``text/template``: a bitnami.com object parses as Go
  (``SealedSecretDoc.template_engine``), so the SealedSecret sync renders it with
  :mod:`sealer.gotemplate`, as for a sealops object ``seal migrate`` marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.reconcile import Context
from controller.sealedsecrets import SealedSecretReconciler
from controller.secretwriter import DesiredSecret, Owner, Policy, SecretNotOwned, WriteResult
from sealer.api import (
    API_VERSION,
    BITNAMI_API_VERSION,
    BITNAMI_MANAGED,
    BITNAMI_PATCH,
    BITNAMI_SEALED_SECRET,
    BITNAMI_SEALED_SECRETS,
    BITNAMI_SKIP_OWNER_REFERENCES,
    SEALED_SECRET,
    metadata,
)
from sealer.manifests import SealedSecretDoc, parse_sealed_secret

__all__ = ["BitnamiSealedSecretReconciler"]


class BitnamiSealedSecretReconciler(SealedSecretReconciler):
    kind = BITNAMI_SEALED_SECRET
    ref = BITNAMI_SEALED_SECRETS
    records_source = False  # no sealedWith in Bitnami's status: every reconcile unseals
    synced = True

    def parse(self, body: Mapping[str, Any]) -> SealedSecretDoc:
        return parse_sealed_secret(body, allow_bitnami=True)

    def note_status(self, ctx: Context, sealed: SealedSecretDoc, fingerprints: list[str]) -> None:
        """Nothing beside the conditions: Bitnami's CRD keeps only those and observedGeneration."""

    def opened_with(self, body: Mapping[str, Any]) -> list[str] | None:
        """Unknown: Bitnami's CRD keeps no ``sealedWith``, so every reconcile unseals."""
        return None

    def write(
        self, body: Mapping[str, Any], desired: DesiredSecret, existing: dict[str, Any] | None
    ) -> WriteResult:
        meta = metadata(existing or {})
        annotations = meta.get("annotations") or {}
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller") and ref.get("apiVersion") == API_VERSION:
                raise SecretNotOwned(
                    f"was taken over by {ref.get('kind')} {ref.get('name')} ({API_VERSION}); "
                    f"this {BITNAMI_API_VERSION} object can be deleted, the Secret stays",
                    where=desired.ref,
                )
        managed = annotations.get(BITNAMI_MANAGED) == "true"
        skip = desired.annotations.get(BITNAMI_SKIP_OWNER_REFERENCES) == "true"
        if annotations.get(BITNAMI_PATCH) == "true":
            policy, takeover = Policy.MERGE, managed and not skip
        else:
            policy, takeover = (Policy.ORPHAN if skip else Policy.OWNER), managed
        uid = metadata(body).get("uid", "")
        owner = Owner(BITNAMI_API_VERSION, SEALED_SECRET, desired.name, uid)
        return self.writer.apply_to(existing, desired, owner, policy, takeover=takeover)
