"""Writing target Secrets under the ownership rules shared by SealedSecrets and VaultSecrets.

Rules:
- a new Secret gets label ``sealops.dev/managed-by: sealops``, annotation
  ``sealops.dev/owned-by: Kind/name``, the keyed data hash, and (policy Owner) an ownerReference
  with ``controller: true`` to its source object, so deleting the source deletes it;
- an existing Secret is written only if we own it (our ownerReference, or our ``owned-by``
  annotation for policy Orphan) or it carries ``sealops.dev/managed: "true"``, or the caller says
  it may be taken over (``takeover``: Bitnami's ``managed`` annotation on it); otherwise
  :class:`SecretNotOwned` and nothing is touched;
- an :class:`Owner` that ``adopts`` an apiVersion takes over a Secret controlled by an object
  of that apiVersion, kind and name (a sealops SealedSecret, its Bitnami one's): the controller
  reference is swapped in one update, the Secret never deleted or re-created;
- policy Merge writes only its own keys into an existing Secret and never creates one; it keeps
  the ownerReferences (with ``takeover``, ours controls); Orphan drops its own;
- the controller's own annotations (``DesiredSecret.marks``: the source fingerprint) are added
  after the reserved-metadata check, which refuses them in a user's template;
- nothing is written when the data hash, type, labels and annotations already match;
- an immutable Secret whose data must change is not touched: :class:`UpdateFailed` says so.

Tenancy (the one place that writes Secrets for users' objects, so both kinds get it):
- nothing is written into the controller's own namespace (its key Secrets and the data-hash key
  live there): :class:`WriteForbidden`, before anything is read;
- template metadata may not carry reserved keys: any label or annotation under ``sealops.dev/``
  (the sealing-key label, the ownership and data-hash annotations) or Bitnami's key label:
  :class:`ReservedMetadata`, naming the field (the rule is :func:`sealer.manifests.reserved_key`,
  which ``seal`` uses to leave such keys out of the templates it writes);
- no Secret carrying a sealing-key label is ever written;
- policy Merge writes only into a Secret that no other object controls: one with an
  ownerReference ``controller: true`` to another object, or the ``owned-by`` annotation of another
  sealops object, is :class:`SecretNotOwned`.

Never deletes a Secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.datahash import DataHasher
from controller.secretmodel import (
    DesiredSecret,
    Owner,
    Policy,
    ReservedMetadata,
    SecretNotOwned,
    UpdateFailed,
    WriteForbidden,
    WriteResult,
    decode_data,
    encode_data,
)
from sealer.api import (
    ANN_DATA_HASH,
    ANN_DATA_KEYS,
    ANN_MANAGED,
    ANN_OWNED_BY,
    BITNAMI_KEY_LABEL,
    LABEL_MANAGED_BY,
    LABEL_SEALING_KEY,
    MANAGED_BY_VALUE,
    RESERVED_PREFIX,
    SECRETS,
    metadata,
)
from sealer.kube import Kube, KubeNotFound
from sealer.manifests import reserved_key

__all__ = [
    "RESERVED_PREFIX",
    "DesiredSecret",
    "Owner",
    "Policy",
    "ReservedMetadata",
    "SecretNotOwned",
    "SecretWriter",
    "UpdateFailed",
    "WriteForbidden",
    "WriteResult",
    "decode_data",
    "reserved_key",
]

_KEY_LABELS = (LABEL_SEALING_KEY, BITNAMI_KEY_LABEL)


class SecretWriter:
    def __init__(self, *, kube: Kube, hasher: DataHasher, controller_namespace: str):
        self.kube = kube
        self.hasher = hasher
        self.controller_namespace = controller_namespace

    def read(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Secret as it is now, or None. Nothing is checked: :meth:`apply` checks."""
        try:
            return self.kube.get(SECRETS, namespace, name)
        except KubeNotFound:
            return None

    def is_ours(self, secret: Mapping[str, Any], owner: Owner) -> bool:
        meta = metadata(secret)
        refs = meta.get("ownerReferences") or []
        if any(ref.get("uid") == owner.uid or owner.adopted(ref) for ref in refs):
            return True
        annotations = meta.get("annotations") or {}
        return bool(
            annotations.get(ANN_MANAGED) == "true" or annotations.get(ANN_OWNED_BY) == owner.tag
        )

    def in_sync(self, secret: Mapping[str, Any]) -> bool:
        """Whether a managed Secret's data still matches the hash we wrote (no drift)."""
        annotations = metadata(secret).get("annotations") or {}
        keys_note = annotations.get(ANN_DATA_KEYS)
        keys = keys_note.split(",") if keys_note else None
        return self.hasher.matches(annotations.get(ANN_DATA_HASH), decode_data(secret), keys)

    def apply(
        self,
        desired: DesiredSecret,
        owner: Owner,
        policy: Policy = Policy.OWNER,
        *,
        takeover: bool = False,
    ) -> WriteResult:
        """Create or update the Secret (see the module doc); ``takeover``: the caller found it
        annotated to be taken over, so it is written though nothing else marks it ours."""
        self._check_allowed(desired)
        existing = self.read(desired.namespace, desired.name)
        return self._write(existing, desired, owner, policy, takeover=takeover)

    def apply_to(
        self,
        existing: dict[str, Any] | None,
        desired: DesiredSecret,
        owner: Owner,
        policy: Policy = Policy.OWNER,
        *,
        takeover: bool = False,
    ) -> WriteResult:
        """:meth:`apply` over the Secret as the caller just read it (:meth:`read`): read once."""
        self._check_allowed(desired)
        return self._write(existing, desired, owner, policy, takeover=takeover)

    def _write(
        self,
        existing: dict[str, Any] | None,
        desired: DesiredSecret,
        owner: Owner,
        policy: Policy,
        *,
        takeover: bool,
    ) -> WriteResult:
        digest = self.hasher.digest(desired.data)
        if existing is not None:
            self._check_target(existing, desired, owner, policy)
        if existing is None:
            if policy is Policy.MERGE:
                raise UpdateFailed(
                    "does not exist, and creationPolicy Merge only adds to an existing Secret",
                    where=desired.ref,
                )
            created = self.kube.create(
                SECRETS, desired.namespace, self._new_body(desired, owner, policy, digest)
            )
            return WriteResult("created", created)
        if policy is not Policy.MERGE and not takeover and not self.is_ours(existing, owner):
            raise SecretNotOwned(
                f"exists and is not managed by {owner.tag}; it is kept as it is (annotate it "
                f'{ANN_MANAGED}: "true" to let sealops take it over)',
                where=desired.ref,
            )
        body = self._updated_body(existing, desired, owner, policy, claim=takeover)
        if body is None:
            return WriteResult("unchanged", existing)
        if existing.get("immutable") and decode_data(existing) != decode_data(body):
            raise UpdateFailed(
                "is immutable and its data must change: delete it and sealops re-creates it",
                where=desired.ref,
            )
        if existing.get("type", "Opaque") != body.get("type", "Opaque"):
            raise UpdateFailed(
                f"has type {existing.get('type')}, expected {desired.type}; a Secret's type cannot "
                "change: delete it and sealops re-creates it",
                where=desired.ref,
            )
        updated = self.kube.replace(SECRETS, desired.namespace, desired.name, body)
        return WriteResult(
            "updated", updated, data_changed=decode_data(existing) != decode_data(body)
        )

    # -- tenancy ----------------------------------------------------------------------------

    def refuse_namespace(self, namespace: str | None, *, where: str) -> None:
        """:class:`WriteForbidden` when ``namespace`` is the controller's own.

        The writer checks it before any read; callers that would spend work first (the RSA work
        of opening a SealedSecret) call it before that work, for the same answer.
        """
        if namespace == self.controller_namespace:
            raise WriteForbidden(
                f"is in the controller's own namespace ({self.controller_namespace}), which holds "
                "its keys: sealops writes no Secret there for a SealedSecret or VaultSecret",
                where=where,
                field="metadata.namespace",
            )

    def _check_allowed(self, desired: DesiredSecret) -> None:
        """What no user's object may ask for, whatever exists: checked before any read."""
        where = desired.source or desired.ref
        self.refuse_namespace(desired.namespace, where=where)
        for kind, keys in (("labels", desired.labels), ("annotations", desired.annotations)):
            for key in sorted(keys):
                if reserved_key(key):
                    raise ReservedMetadata(
                        f"{key[:80]!a} is reserved for the controller (every key under "
                        f"{RESERVED_PREFIX} and {BITNAMI_KEY_LABEL}): remove it",
                        where=where,
                        field=f"{desired.metadata_field}.{kind}",
                    )

    def _check_target(
        self, existing: Mapping[str, Any], desired: DesiredSecret, owner: Owner, policy: Policy
    ) -> None:
        meta = metadata(existing)
        if any(label in (meta.get("labels") or {}) for label in _KEY_LABELS):
            raise WriteForbidden(
                "is a sealing-key Secret: sealops never writes one for a SealedSecret or "
                "VaultSecret",
                where=desired.ref,
            )
        if policy is not Policy.MERGE:
            return  # the ownership rule of apply() decides
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") != owner.uid:
                raise SecretNotOwned(
                    f"is controlled by {ref.get('kind')} {ref.get('name')}; creationPolicy Merge "
                    "writes only into a Secret that no other object controls",
                    where=desired.ref,
                )
        tag = (meta.get("annotations") or {}).get(ANN_OWNED_BY)
        if tag and tag != owner.tag:
            raise SecretNotOwned(
                f"is managed by {tag}; creationPolicy Merge writes only into a Secret that no "
                "other object controls",
                where=desired.ref,
            )

    # -- bodies -----------------------------------------------------------------------------

    def _new_body(
        self, desired: DesiredSecret, owner: Owner, policy: Policy, digest: str
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": desired.name,
            "namespace": desired.namespace,
            "labels": {**desired.labels, LABEL_MANAGED_BY: MANAGED_BY_VALUE},
            "annotations": {
                **desired.annotations,
                **desired.marks,
                ANN_OWNED_BY: owner.tag,
                ANN_DATA_HASH: digest,
            },
        }
        if policy is Policy.OWNER:
            meta["ownerReferences"] = [owner.reference()]
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": desired.type,
            "data": encode_data(desired.data),
        }
        if desired.immutable is not None:
            body["immutable"] = desired.immutable
        return body

    def _updated_body(
        self, existing: dict[str, Any], desired: DesiredSecret, owner: Owner, policy: Policy,
        *, claim: bool = False,
    ) -> dict[str, Any] | None:  # fmt: skip
        """The Secret with our changes applied, or None when there is nothing to change."""
        meta: dict[str, Any] = dict(metadata(existing))
        labels = dict(meta.get("labels") or {})
        annotations = dict(meta.get("annotations") or {})
        current = decode_data(existing)
        if policy is Policy.MERGE:
            data = {**current, **desired.data}
            annotations[ANN_DATA_KEYS] = ",".join(sorted(desired.data))
            digest = self.hasher.digest(desired.data)
        else:
            data = dict(desired.data)
            annotations.pop(ANN_DATA_KEYS, None)  # the hash covers every key: no subset note
            labels[LABEL_MANAGED_BY] = MANAGED_BY_VALUE
            annotations[ANN_OWNED_BY] = owner.tag
            digest = self.hasher.digest(desired.data)
        labels.update(desired.labels)
        annotations.update(desired.annotations)
        annotations.update(desired.marks)
        annotations[ANN_DATA_HASH] = digest
        refs = _references(meta.get("ownerReferences") or [], owner, policy, claim=claim)
        unchanged = (
            data == current
            and labels == (meta.get("labels") or {})
            and annotations == (meta.get("annotations") or {})
            and refs == (meta.get("ownerReferences") or [])
            and (policy is Policy.MERGE or existing.get("type", "Opaque") == desired.type)
            and (desired.immutable is None or existing.get("immutable") == desired.immutable)
        )
        if unchanged:
            return None
        meta.update(labels=labels, annotations=annotations)
        if refs:
            meta["ownerReferences"] = refs
        else:
            meta.pop("ownerReferences", None)
        body = {**existing, "metadata": meta, "data": encode_data(data)}
        if policy is not Policy.MERGE:
            body["type"] = desired.type
            if desired.immutable is not None:
                body["immutable"] = desired.immutable
        body.pop("stringData", None)
        return body


def _references(
    refs: list[dict[str, Any]], owner: Owner, policy: Policy, *, claim: bool
) -> list[dict[str, Any]]:
    """The ownerReferences the Secret gets: ours as its controller (Owner; Merge with ``claim``),
    none of ours (Orphan), or as they are (Merge)."""
    if policy is Policy.ORPHAN:
        return [r for r in refs if r.get("uid") != owner.uid]
    if policy is Policy.MERGE and not claim:
        return list(refs)
    if any(r.get("uid") == owner.uid for r in refs):
        return list(refs)
    # Taking over (annotated managed, or adopted): only one controller reference may exist.
    return [r for r in refs if not r.get("controller")] + [owner.reference()]
