"""Reconciling a SealedSecret into its Secret. Synchronous: kopf runs it in its thread pool.

Called by the kopf handlers (create/update/resume), by the drift check on managed Secrets, and by
the resync loop. One reconcile: parse → unseal (hint first, then every key; a key-ring reload
when nothing opens it; over the RSA work bound, ``InvalidSpec`` before any private-key
operation) → render the template → write the Secret under the ownership rules →
status, Event, metrics. Failures keep whatever Secret exists untouched.

The Secret is the SealedSecret's own name in its own namespace (nothing in the spec can name
another); the writer refuses the controller's namespace and reserved template metadata. A
SealedSecret in the controller's namespace is refused before any RSA work (the writer's rule and
message, asked first).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from controller.keyring import Keyring, KeyStore
from controller.locks import KeyedLocks
from controller.metrics import Metrics
from controller.reporting import Reporter, StatusSink, Verdict
from controller.secretwriter import DesiredSecret, Owner, SecretNotOwned, SecretWriter, UpdateFailed
from sealer.api import API_VERSION, SEALED_SECRET, SEALED_SECRETS
from sealer.errors import EnvelopeError, ManifestError, SealopsError, TemplateError
from sealer.kube import KubeConflict, KubeError, KubeInvalid
from sealer.manifests import parse_sealed_secret
from sealer.sealing import Unsealed, Work, WorkBoundError, unseal, unsealed_secret

__all__ = ["SealedSecretReconciler"]

_RELOAD_EVERY = 5.0  # seconds between key-ring reloads triggered by failures

log = logging.getLogger(__name__)


class SealedSecretReconciler:
    def __init__(
        self,
        *,
        keyring: Keyring,
        keystore: KeyStore,
        writer: SecretWriter,
        reporter: Reporter,
        metrics: Metrics,
    ):
        self.keyring = keyring
        self.keystore = keystore
        self.writer = writer
        self.reporter = reporter
        self.metrics = metrics
        self._lock = KeyedLocks()
        self._last_reload = 0.0

    def reconcile(
        self, body: Mapping[str, Any], *, retry: int = 0, status_sink: StatusSink | None = None
    ) -> Verdict:
        """One reconcile; the status is patched, or given to ``status_sink`` to write."""
        meta = body.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        with self._lock(key):
            verdict = self._reconcile(body, retry=retry)
        self.metrics.unseal.labels("success" if verdict.ready else "error", verdict.reason).inc()
        self.reporter.report(SEALED_SECRETS, body, verdict, status_sink=status_sink)
        return verdict

    def _reconcile(self, body: Mapping[str, Any], *, retry: int) -> Verdict:
        meta = body.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return Verdict(True, "Deleting", "being deleted", event=False)
        try:
            sealed = parse_sealed_secret(body, allow_bitnami=False)
        except ManifestError as exc:
            return Verdict(False, "InvalidSpec", str(exc))
        try:
            # Refused before the RSA work, not after it: the writer would refuse it anyway.
            self.writer.refuse_namespace(sealed.namespace, where=sealed.ref)
        except SealopsError as exc:
            return Verdict(False, exc.reason, str(exc))
        try:
            opened = self._unseal(sealed)
        except WorkBoundError as exc:
            # Too many recipients or private-key operations: refused before the RSA work, and
            # not retried, since only an edit of the object can change the answer.
            return Verdict(False, "InvalidSpec", str(exc))
        except EnvelopeError as exc:
            # Keys may yet be restored or imported: retry slowly rather than never.
            return Verdict(False, "DecryptFailed", str(exc), retry_after=_backoff(retry, 30, 1800))
        try:
            secret = unsealed_secret(sealed, opened.values)
        except (TemplateError, ManifestError) as exc:
            return Verdict(False, "InvalidSpec", str(exc))
        sealed_with = sorted(set(opened.opened_with.values()))
        extra = {"secretName": sealed.name, "sealedWith": sealed_with}
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
        owner = Owner(API_VERSION, SEALED_SECRET, sealed.name, str(meta.get("uid", "")))
        try:
            result = self.writer.apply(desired, owner)
        except SecretNotOwned as exc:
            return Verdict(
                False, "SecretNotOwned", str(exc), extra, retry_after=_backoff(retry, 60, 3600)
            )
        except UpdateFailed as exc:
            return Verdict(False, "UpdateFailed", str(exc), extra)
        except KubeConflict as exc:
            return Verdict(False, "UpdateFailed", str(exc), extra, event=False, retry_after=1.0)
        except KubeInvalid as exc:
            return Verdict(False, "UpdateFailed", str(exc), extra)
        except KubeError as exc:
            return Verdict(
                False, "UpdateFailed", str(exc), extra, retry_after=_backoff(retry, 5, 300)
            )
        except SealopsError as exc:  # the writer's tenancy rules: the spec must change first
            return Verdict(False, exc.reason, str(exc), extra)
        self.metrics.values_unsealed.inc(len(opened.values))
        for fingerprint in opened.opened_with.values():
            self.metrics.key_usage.labels(fingerprint).inc()
        changed = result.action != "unchanged"
        if changed:
            self.metrics.secret_writes.labels(SEALED_SECRET, result.action).inc()
            log.info("%s Secret %s/%s", result.action, sealed.namespace, sealed.name)
        # The status message stays the same in a steady state, so re-reconciling writes nothing;
        # what happened this time goes in the Event.
        message = f"unsealed {len(opened.values)} value(s) into Secret {sealed.name}"
        return Verdict(
            True,
            "Unsealed",
            message,
            extra,
            event=changed,
            event_message=f"Secret {sealed.name} {result.action}",
        )

    def _unseal(self, sealed: Any) -> Unsealed:
        start = time.thread_time()
        work = Work()
        try:
            return self._unseal_with_reload(sealed, work)
        finally:
            # Every private-key operation counts, the ones that failed too.
            self.metrics.private_key_ops.inc(work.ops)
            self.metrics.unseal_cpu.inc(time.thread_time() - start)

    def _unseal_with_reload(self, sealed: Any, work: Work) -> Unsealed:
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


def _backoff(retry: int, base: float, cap: float) -> float:
    return float(min(cap, base * (2 ** min(retry, 16))))
