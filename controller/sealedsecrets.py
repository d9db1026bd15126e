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
message, asked first).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from controller.keyring import Keyring, KeyStore
from controller.metrics import Metrics
from controller.reconcile import Context, Outcome, Queue, Reconciler
from controller.reporting import Reporter
from controller.secretwriter import DesiredSecret, Owner, SecretWriter
from sealer.api import API_VERSION, SEALED_SECRET, SEALED_SECRETS, Reason, metadata
from sealer.errors import EnvelopeError, SealopsError
from sealer.manifests import SealedSecretDoc, parse_sealed_secret
from sealer.sealing import Unsealed, Work, unseal, unsealed_secret

__all__ = ["SealedSecretReconciler"]

_RELOAD_EVERY = 5.0  # seconds between key-ring reloads triggered by failures

log = logging.getLogger(__name__)


class SealedSecretReconciler(Reconciler):
    kind = SEALED_SECRET
    ref = SEALED_SECRETS

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
        self.metrics = metrics
        self._last_reload = 0.0

    def secret_name(self, body: Mapping[str, Any]) -> str | None:
        return metadata(body).get("name")  # always the SealedSecret's own name

    def sync(self, body: Mapping[str, Any], ctx: Context) -> Outcome:
        if metadata(body).get("deletionTimestamp"):
            return Outcome(Reason.DELETING, "being deleted", event=False)
        sealed = parse_sealed_secret(body, allow_bitnami=False)
        # Refused before the RSA work, not after it: the writer would refuse it anyway.
        self.writer.refuse_namespace(sealed.namespace, where=sealed.ref)
        # Over the work bound (WorkBoundError): refused before any RSA work.
        opened = self._unseal(sealed)
        secret = unsealed_secret(sealed, opened.values)
        ctx.status.update(
            secretName=sealed.name, sealedWith=sorted(set(opened.opened_with.values()))
        )
        desired = DesiredSecret(
            name=sealed.name,
            namespace=str(sealed.namespace),
            data=secret.data,
            type=secret.type,
            immutable=secret.immutable,
            labels=secret.labels,
            annotations=secret.annotations,
            source=sealed.ref,
            metadata_field="spec.template.metadata",
        )
        owner = Owner(API_VERSION, SEALED_SECRET, sealed.name, metadata(body).get("uid", ""))
        result = self.writer.apply(desired, owner)
        self.metrics.values_unsealed.inc(len(opened.values))
        for fingerprint in opened.opened_with.values():
            self.metrics.key_usage.labels(fingerprint).inc()
        changed = result.action != "unchanged"
        if changed:
            self.metrics.secret_writes.labels(SEALED_SECRET, result.action).inc()
            log.info("%s Secret %s/%s", result.action, sealed.namespace, sealed.name)
        # The status message stays the same in a steady state, so re-reconciling writes nothing;
        # what happened this time goes in the Event.
        return Outcome(
            Reason.UNSEALED,
            f"unsealed {len(opened.values)} value(s) into Secret {sealed.name}",
            event=changed,
            event_message=f"Secret {sealed.name} {result.action}",
        )

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
