"""Reconciling a VaultSecret: read the referenced values from Vault, write the target Secret.

Called by the kopf handlers (create/update/resume), the refresh :class:`~controller.scheduler.
Scheduler`, and the drift check on managed Secrets. Synchronous (kopf's threads or the
scheduler's). One sync: connection (tenant rules) → one read per distinct secret (the
connection's ReadCache) → ``dataFrom`` then ``data`` (later wins) → template → Secret under the
ownership rules → rollout restarts if the data changed (never on the first sync) → status,
Event, metrics.

On any Vault failure (outage, permission, missing key) the existing Secret is left exactly as it
is: Ready=False with the reason, an Event, and a retry with backoff and jitter.

Every name in the spec (``target.name``, ``rolloutRestartTargets[].name``) is checked where it is
read, before anything is read from Vault, and resolved in the VaultSecret's own namespace; the
connection's names are checked in :mod:`controller.connections`, and the Secret write's tenancy
rules are :mod:`controller.secretwriter`'s.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.connections import Connections
from controller.durations import parse_duration
from controller.locks import KeyedLocks
from controller.metrics import Metrics
from controller.reporting import Reporter, StatusSink, Verdict
from controller.secretwriter import (
    DesiredSecret,
    Owner,
    Policy,
    SecretNotOwned,
    SecretWriter,
    UpdateFailed,
)
from sealer.api import (
    ANN_RESTARTED_AT,
    API_VERSION,
    SECRETS,
    VAULT_SECRET,
    VAULT_SECRETS,
    WORKLOADS,
)
from sealer.errors import SealopsError, TemplateError
from sealer.kube import Kube, KubeConflict, KubeError, ResourceRef, check_name
from sealer.templating import render_template_data
from sealer.vault import VaultError, VaultRef, parse_ref, resolve_data, resolve_value

__all__ = ["VaultSecretReconciler", "rollout_ref"]

DEFAULT_REFRESH = 3600.0
_REASONS = {"VaultUnavailable", "Forbidden", "NotFound", "InvalidSpec"}

log = logging.getLogger(__name__)


def rollout_ref(kind: str) -> ResourceRef | None:
    return WORKLOADS.get(kind)


def _restart_targets(targets: Any, *, where: str) -> list[tuple[str, str]]:
    """``(kind, name)`` of each rollout target, every one checked: all in this namespace."""
    if targets is None:
        return []
    if not isinstance(targets, list):
        raise SealopsError("must be a list", where=where, field="spec.rolloutRestartTargets")
    out = []
    for index, target in enumerate(targets):
        field = f"spec.rolloutRestartTargets[{index}]"
        target = target if isinstance(target, Mapping) else {}
        kind = str(target.get("kind") or "")
        ref = WORKLOADS.get(kind)
        if ref is None:
            raise SealopsError(
                f"must be one of {', '.join(sorted(WORKLOADS))}",
                where=where,
                field=f"{field}.kind",
            )
        out.append((kind, check_name(ref, target.get("name"), field=f"{field}.name", where=where)))
    return out


@dataclass(frozen=True)
class SyncResult:
    verdict: Verdict
    next_run: float | None  # seconds until the next refresh or retry; None = never


class VaultSecretReconciler:
    def __init__(
        self,
        *,
        kube: Kube,
        connections: Connections,
        writer: SecretWriter,
        reporter: Reporter,
        metrics: Metrics,
        clock: Callable[[], dt.datetime],
        jitter: Callable[[], float] = random.random,
    ):
        self.kube = kube
        self.connections = connections
        self.writer = writer
        self.reporter = reporter
        self.metrics = metrics
        self.clock = clock
        self.jitter = jitter
        self._lock = KeyedLocks()
        self._failures: dict[str, int] = {}

    def reconcile(
        self, body: Mapping[str, Any], *, status_sink: StatusSink | None = None, fresh: bool = False
    ) -> SyncResult:
        """One sync; the status is patched, or given to ``status_sink`` (kopf's patch) to write.

        ``fresh`` reads this VaultSecret's secrets from Vault even if the refresh window's cache
        has them: the user just created or changed it (or annotated it to force a sync).
        """
        meta = body.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        with self._lock(key):
            verdict, refresh = self._sync(body, fresh=fresh)
        self.metrics.vault.labels("success" if verdict.ready else "error", verdict.reason).inc()
        self.reporter.report(VAULT_SECRETS, body, verdict, status_sink=status_sink)
        if verdict.ready:
            self._failures.pop(key, None)
            next_run = None if refresh <= 0 else refresh * (0.9 + 0.2 * self.jitter())
        elif verdict.retry_after is None:
            next_run = None  # the spec must change first; kopf calls us again when it does
        else:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            # Exponential backoff with full jitter, capped at the refresh interval (or 10 min).
            cap = min(refresh, 600.0) if refresh > 0 else 600.0
            next_run = max(
                1.0,
                min(cap, verdict.retry_after * 2 ** min(failures - 1, 10))
                * (0.5 + 0.5 * self.jitter()),
            )
        return SyncResult(verdict, next_run)

    def forget(self, key: str) -> None:
        self._lock.forget(key)
        self._failures.pop(key, None)

    def _sync(self, body: Mapping[str, Any], *, fresh: bool) -> tuple[Verdict, float]:
        meta = body.get("metadata") or {}
        spec = body.get("spec") or {}
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        where = f"VaultSecret {namespace}/{name}"
        try:
            refresh = parse_duration(spec.get("refreshInterval", "1h"))
        except ValueError as exc:
            return Verdict(
                False, "InvalidSpec", f"{where}: spec.refreshInterval: {exc}"
            ), DEFAULT_REFRESH
        if meta.get("deletionTimestamp"):
            return Verdict(True, "Deleting", "being deleted", event=False), 0.0
        try:  # before any Vault read, as the writer would refuse it after
            self.writer.refuse_namespace(namespace, where=where)
        except SealopsError as exc:
            return Verdict(False, exc.reason, str(exc)), refresh
        target = spec.get("target") or {}
        try:
            secret_name = check_name(
                SECRETS, target.get("name") or name, field="spec.target.name", where=where
            )
            restarts = _restart_targets(spec.get("rolloutRestartTargets"), where=where)
        except SealopsError as exc:
            return Verdict(False, "InvalidSpec", str(exc)), refresh
        extra = {"secretName": secret_name}
        try:
            policy = Policy(target.get("creationPolicy") or "Owner")
        except ValueError:
            return Verdict(
                False,
                "InvalidSpec",
                f"{where}: spec.target.creationPolicy: must be Owner, Merge or Orphan",
                extra,
            ), refresh
        try:
            values = self._read(
                namespace, spec, max_age=refresh if refresh > 0 else DEFAULT_REFRESH, fresh=fresh
            )
        except SealopsError as exc:
            reason = (
                exc.reason
                if exc.reason in _REASONS
                else ("VaultUnavailable" if exc.retryable else "InvalidSpec")
            )
            message = str(exc.located(where=where))
            # Vault data, policies and connections can all be fixed without touching this
            # VaultSecret, so every failure retries (with backoff; slower for spec problems).
            retry = 5.0 if exc.retryable or reason in ("Forbidden", "NotFound") else 60.0
            return Verdict(False, reason, message, extra, retry_after=retry), refresh
        template = target.get("template") or {}
        template_meta = template.get("metadata") or {}
        data = {k: v.encode() for k, v in values.items()}
        try:
            if template.get("data"):
                data.update(render_template_data(template["data"], data, where=where))
        except TemplateError as exc:
            return Verdict(False, "InvalidSpec", str(exc), extra), refresh
        desired = DesiredSecret(
            name=secret_name,
            namespace=namespace,
            data=data,
            type=str(target.get("type") or "Opaque"),
            labels={str(k): str(v) for k, v in (template_meta.get("labels") or {}).items()},
            annotations={
                str(k): str(v) for k, v in (template_meta.get("annotations") or {}).items()
            },
            source=where,
            metadata_field="spec.target.template.metadata",
        )
        owner = Owner(API_VERSION, VAULT_SECRET, name, str(meta.get("uid", "")))
        try:
            result = self.writer.apply(desired, owner, policy)
        except SecretNotOwned as exc:
            return Verdict(False, "SecretNotOwned", str(exc), extra, retry_after=60.0), refresh
        except UpdateFailed as exc:
            return Verdict(False, "UpdateFailed", str(exc), extra, retry_after=60.0), refresh
        except KubeError as exc:
            if isinstance(exc, KubeConflict):
                return Verdict(
                    False, "UpdateFailed", str(exc), extra, event=False, retry_after=1.0
                ), refresh
            return Verdict(False, "UpdateFailed", str(exc), extra, retry_after=5.0), refresh
        except SealopsError as exc:  # the tenancy rules: the spec must change first
            return Verdict(False, exc.reason, str(exc), extra), refresh
        changed = result.action != "unchanged"
        if changed:
            self.metrics.secret_writes.labels(VAULT_SECRET, result.action).inc()
            extra["lastSyncTime"] = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
            log.info("%s Secret %s/%s from Vault", result.action, namespace, secret_name)
        if result.data_changed:
            self._restart(namespace, restarts, body)
        message = f"synced {len(data)} key(s) into Secret {secret_name}"
        return (
            Verdict(
                True,
                "Synced",
                message,
                extra,
                event=changed,
                event_message=f"Secret {secret_name} {result.action}",
            ),
            refresh,
        )

    def _read(
        self, namespace: str, spec: Mapping[str, Any], *, max_age: float, fresh: bool
    ) -> dict[str, str]:
        connection_ref = spec.get("connectionRef") or {}
        resolver = self.connections.resolver_for(namespace, connection_ref, max_age=max_age)

        def ref_of(text: str) -> VaultRef:
            ref = parse_ref(text)
            if fresh:
                resolver.forget(ref.location)  # read it afresh, once, for this sync
            return ref

        values: dict[str, str] = {}
        for index, item in enumerate(spec.get("dataFrom") or []):
            field = f"spec.dataFrom[{index}].ref"
            try:
                values.update(resolve_data(resolver, ref_of(str((item or {}).get("ref", "")))))
            except VaultError as exc:
                raise exc.located(field=field) from None
        for index, item in enumerate(spec.get("data") or []):
            key = str((item or {}).get("key") or "")
            field = f"spec.data[{index}]"
            if not key:
                raise SealopsError("key is required", field=f"{field}.key")
            try:
                values[key] = resolve_value(resolver, ref_of(str(item.get("ref", ""))))
            except VaultError as exc:
                raise exc.located(field=f"{field}.ref ({key})") from None
        if not values:
            raise SealopsError("names no value: add data or dataFrom", field="spec")
        return values

    def _restart(
        self, namespace: str, targets: list[tuple[str, str]], body: Mapping[str, Any]
    ) -> None:
        stamp = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {ANN_RESTARTED_AT: stamp}}}}}
        for kind, name in targets:
            ref = WORKLOADS[kind]
            try:
                self.kube.patch(ref, namespace, name, patch)
                self.reporter.event(
                    body,
                    kind="Normal",
                    reason="RolloutRestarted",
                    message=f"restarted {kind} {name}: its Secret changed",
                )
            except KubeError as exc:
                self.reporter.event(
                    body,
                    kind="Warning",
                    reason="RolloutRestartFailed",
                    message=f"{kind} {name}: {exc}",
                )
