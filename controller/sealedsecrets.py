"""Reconciling a SealedSecret into its Secret. Synchronous: kopf runs it in its thread pool.

Called by the kopf handlers (create/update/resume), the drift check on managed Secrets, the
resync and the queue (retries), all through :class:`controller.reconcile.Reconciler`, which
holds the lock, turns errors into reasons and retries, and reports. This module is the sync
itself: parse → unseal (hint first, then every key; a key-ring reload when nothing opens it;
over the RSA work bound, ``InvalidSpec`` before any private-key operation) → render the template
→ write the Secret under the ownership rules. Failures keep whatever Secret exists untouched.

The Secret is the SealedSecret's own name in its own namespace (nothing in the spec can name
another); the writer refuses the controller's namespace and reserved template metadata. A
SealedSecret in the controller's namespace is refused before any RSA work (the writer's rule and
message, asked first). A Secret that a Bitnami SealedSecret of the same name controls is taken
over (the writer swaps the controller reference; the Secret stays). Bitnami's own objects, with
``--bitnami-compat``, go through this same sync: :mod:`controller.bitnami`.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from controller.keyring import Keyring, KeyStore
from controller.metrics import Metrics
from controller.reconcile import Context, Outcome, Queue, Reconciler
from controller.reporting import Reporter
from controller.secretwriter import DesiredSecret, Owner, SecretWriter, WriteResult, decode_data
from controller.sourcehash import SourceHasher
from sealer.api import (
    ANN_DATA_HASH,
    ANN_SOURCE_HASH,
    API_VERSION,
    BITNAMI_API_VERSION,
    SEALED_SECRET,
    SEALED_SECRETS,
    Reason,
    metadata,
)
from sealer.errors import EnvelopeError, SealopsError
from sealer.manifests import PlainSecret, SealedSecretDoc, parse_sealed_secret
from sealer.sealing import Unsealed, Work, secret_shell, unseal, unsealed_secret

__all__ = ["SealedSecretReconciler"]

_RELOAD_EVERY = 5.0  # seconds between key-ring reloads triggered by failures

log = logging.getLogger(__name__)


class SealedSecretReconciler(Reconciler):
    kind = SEALED_SECRET
    ref = SEALED_SECRETS
    #: Whether its Secrets carry the source hash (:meth:`opened_with` can tell the keys).
    records_source = True

    def __init__(
        self,
        *,
        keyring: Keyring,
        keystore: KeyStore,
        writer: SecretWriter,
        reporter: Reporter,
        metrics: Metrics,
        jitter: Callable[[], float] = random.random,
        queue: Queue | None = None,
    ):
        super().__init__(
            kube=writer.kube, reporter=reporter, outcomes=metrics.unseal, jitter=jitter, queue=queue
        )
        self.keyring = keyring
        self.keystore = keystore
        self.writer = writer
        self.sources = SourceHasher(writer.hasher)
        self.metrics = metrics
        self._last_reload = 0.0

    def secret_name(self, body: Mapping[str, Any]) -> str | None:
        return metadata(body).get("name")  # always the SealedSecret's own name

    def sync(self, body: Mapping[str, Any], ctx: Context) -> Outcome:
        if metadata(body).get("deletionTimestamp"):
            return Outcome(Reason.DELETING, "being deleted", event=False)
        sealed = self.parse(body)
        # Refused before the RSA work, not after it: the writer would refuse it anyway.
        self.writer.refuse_namespace(sealed.namespace, where=sealed.ref)
        existing = self.writer.read(str(sealed.namespace), sealed.name)
        confirmed = self._unchanged_since(body, existing)
        if confirmed is not None and existing is not None:
            # Its Secret is what unsealing would write again: no private-key operation.
            self.metrics.unseal_skipped.inc()
            fingerprints, mark = confirmed
            secret = dataclasses.replace(secret_shell(sealed), data=decode_data(existing))
        else:
            # Over the work bound (WorkBoundError): refused before any RSA work.
            opened = self._unseal(sealed)
            secret = self.plain_secret(sealed, opened.values)
            fingerprints = sorted(set(opened.opened_with.values()))
            mark = self.sources.digest(body, fingerprints, self.writer.hasher.digest(secret.data))
            self.metrics.values_unsealed.inc(len(opened.values))
            for fingerprint in opened.opened_with.values():
                self.metrics.key_usage.labels(fingerprint).inc()
        self.note_status(ctx, sealed, fingerprints)
        desired = DesiredSecret(
            name=sealed.name,
            namespace=str(sealed.namespace),
            data=secret.data,
            type=secret.type,
            immutable=secret.immutable,
            labels=secret.labels,
            annotations=secret.annotations,
            marks={ANN_SOURCE_HASH: mark} if self.records_source else {},
            source=sealed.ref,
            metadata_field="spec.template.metadata",
        )
        result = self.write(body, desired, existing)
        changed = result.action != "unchanged"
        if changed:
            self.metrics.secret_writes.labels(self.kind, result.action).inc()
            log.info("%s Secret %s/%s", result.action, sealed.namespace, sealed.name)
        # The status message stays the same in a steady state, so re-reconciling writes nothing;
        # what happened this time goes in the Event.
        return Outcome(
            Reason.UNSEALED,
            f"unsealed {len(sealed.encrypted)} value(s) into Secret {sealed.name}",
            event=changed,
            event_message=f"Secret {sealed.name} {result.action}",
        )

    def confirms(self, body: Mapping[str, Any], secret: Mapping[str, Any]) -> bool | None:
        """Made from this very source with this data (the resync's check: data put back from an
        earlier write passes the data hash, not this)."""
        if not self.records_source:
            return None
        return self._unchanged_since(body, secret) is not None

    def _unchanged_since(
        self, body: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> tuple[list[str], str] | None:
        """The keys that opened it and its source hash, if its Secret was made from this very
        source, by this version, with keys still loaded, and holds exactly the data it was
        written with (:mod:`controller.sourcehash`); else None."""
        fingerprints = self.opened_with(body)
        if existing is None or not fingerprints:
            return None
        if any(self.keyring.get(fingerprint) is None for fingerprint in fingerprints):
            return None
        annotations = metadata(existing).get("annotations") or {}
        mark, data_hash = annotations.get(ANN_SOURCE_HASH), annotations.get(ANN_DATA_HASH)
        if not isinstance(data_hash, str) or not isinstance(mark, str):
            return None
        if not self.sources.matches(mark, body, fingerprints, data_hash):
            return None  # another source, version, key set, or data hash than it was written with
        # Every key of the data, whatever a sealops.dev/data-keys note on the Secret says.
        if not self.writer.hasher.matches(data_hash, decode_data(existing)):
            return None
        return fingerprints, mark

    # -- what a kind of SealedSecret does its own way (controller.bitnami overrides them) -------

    def parse(self, body: Mapping[str, Any]) -> SealedSecretDoc:
        """The object, checked; a bitnami.com one is refused here (``seal migrate`` converts it)."""
        return parse_sealed_secret(body, allow_bitnami=False)

    def plain_secret(self, sealed: SealedSecretDoc, values: Mapping[str, bytes]) -> PlainSecret:
        """The Secret it stands for: the values and the rendered template."""
        return unsealed_secret(sealed, values)

    def note_status(self, ctx: Context, sealed: SealedSecretDoc, fingerprints: list[str]) -> None:
        """The status fields beside the conditions: the Secret's name, the keys that opened it."""
        ctx.status.update(secretName=sealed.name, sealedWith=fingerprints)

    def opened_with(self, body: Mapping[str, Any]) -> list[str] | None:
        """The keys that opened it last time, as its status says (checked by the source hash)."""
        listed = (body.get("status") or {}).get("sealedWith")
        if not isinstance(listed, list) or not all(isinstance(f, str) for f in listed):
            return None
        return sorted(listed)

    def write(
        self, body: Mapping[str, Any], desired: DesiredSecret, existing: dict[str, Any] | None
    ) -> WriteResult:
        """Write the Secret as its owner; one a Bitnami SealedSecret of this name controls is
        taken over (its controller reference swapped for ours, never deleted)."""
        owner = Owner(
            API_VERSION, SEALED_SECRET, desired.name, metadata(body).get("uid", ""),
            adopts=BITNAMI_API_VERSION,
        )  # fmt: skip
        return self.writer.apply_to(existing, desired, owner)

    def _unseal(self, sealed: SealedSecretDoc) -> Unsealed:
        start = time.thread_time()
        work = Work()
        try:
            return self._unseal_with_reload(sealed, work)
        finally:
            # Every private-key operation counts, the ones that failed too.
            self.metrics.private_key_ops.inc(work.ops)
            self.metrics.unseal_cpu.inc(time.thread_time() - start)

    def _unseal_with_reload(self, sealed: SealedSecretDoc, work: Work) -> Unsealed:
        try:
            return unseal(sealed, self.keyring.all(), work=work)
        except EnvelopeError:
            # A key may have been restored since the last sync: reload once, then try again.
            now = time.monotonic()
            if now - self._last_reload < _RELOAD_EVERY:
                raise
            self._last_reload = now
            try:
                self.keystore.load()
            except SealopsError as exc:
                log.warning("cannot reload keys: %s", exc)
                raise
            return unseal(sealed, self.keyring.all(), work=work)
