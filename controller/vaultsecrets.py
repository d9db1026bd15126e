"""Reconciling a VaultSecret: read the referenced values from Vault, write the target Secret.

Called by the kopf handlers (create/update/resume), the queue (refreshes and retries), the drift
check on managed Secrets and the resync, all through :class:`controller.reconcile.Reconciler`,
which holds the lock, turns errors into reasons and retries, and reports. This module is the
sync itself: connection (tenant rules) → one read per distinct secret (the connection's
ReadCache) → ``dataFrom`` then ``data`` (later wins) → template → Secret under the ownership
rules → rollout restarts if the data changed (never on the first sync).

On any Vault failure (outage, permission, missing key) the existing Secret is left exactly as it
is: Ready=False with the reason, an Event, and a retry with backoff and jitter, never later than
the next refresh.

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
from typing import Any, cast

from controller.connections import Connections
from controller.durations import parse_duration
from controller.metrics import Metrics
from controller.reconcile import Context, Outcome, Queue, Reconciler
from controller.reporting import Reporter
from controller.secretwriter import DesiredSecret, Owner, Policy, SecretWriter
from sealer.api import (
    ANN_RESTARTED_AT,
    API_VERSION,
    SECRETS,
    VAULT_SECRET,
    VAULT_SECRETS,
    WORKLOADS,
    EventReason,
    Reason,
    VaultSecretSpec,
    VaultTarget,
    metadata,
    spec,
)
from sealer.errors import ManifestError, SealopsError
from sealer.kube import Kube, KubeError, ResourceRef, check_name
from sealer.templating import render_template_data
from sealer.vault import VaultError, VaultRef, parse_ref, resolve_data, resolve_value

__all__ = ["VaultSecretReconciler", "rollout_ref"]

DEFAULT_REFRESH = 3600.0
#: A retry with backoff waits at most this long (and never past the next refresh).
LONGEST_RETRY = 600.0

log = logging.getLogger(__name__)


def rollout_ref(kind: str) -> ResourceRef | None:
    return WORKLOADS.get(kind)


def _restart_targets(targets: Any, *, where: str) -> list[tuple[str, str]]:
    """``(kind, name)`` of each rollout target, every one checked: all in this namespace."""
    if targets is None:
        return []
    if not isinstance(targets, list):
        raise ManifestError("must be a list", where=where, field="spec.rolloutRestartTargets")
    out = []
    for index, target in enumerate(targets):
        field = f"spec.rolloutRestartTargets[{index}]"
        target = target if isinstance(target, Mapping) else {}
        kind = str(target.get("kind") or "")
        ref = WORKLOADS.get(kind)
        if ref is None:
            raise ManifestError(
                f"must be one of {', '.join(sorted(WORKLOADS))}",
                where=where,
                field=f"{field}.kind",
            )
        out.append((kind, check_name(ref, target.get("name"), field=f"{field}.name", where=where)))
    return out


def _refresh_interval(spec_: VaultSecretSpec, *, where: str) -> float:
    try:
        return parse_duration(spec_.get("refreshInterval", "1h"))
    except ValueError as exc:
        raise ManifestError(str(exc), where=where, field="spec.refreshInterval") from None


def _policy(target: VaultTarget, *, where: str) -> Policy:
    try:
        return Policy(target.get("creationPolicy") or "Owner")
    except ValueError:
        raise ManifestError(
            "must be Owner, Merge or Orphan", where=where, field="spec.target.creationPolicy"
        ) from None


def _desired(
    name: str, namespace: str, data: dict[str, bytes], target: VaultTarget, *, where: str
) -> DesiredSecret:
    template_meta = (target.get("template") or {}).get("metadata") or {}
    return DesiredSecret(
        name=name,
        namespace=namespace,
        data=data,
        type=str(target.get("type") or "Opaque"),
        labels={str(k): str(v) for k, v in (template_meta.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (template_meta.get("annotations") or {}).items()},
        source=where,
        metadata_field="spec.target.template.metadata",
    )


def _secret_data(spec_: VaultSecretSpec, values: dict[str, str], *, where: str) -> dict[str, bytes]:
    """The Secret's data: the values read, then ``target.template.data`` rendered over them.

    A ``spec.data`` entry marked ``templateOnly`` is seen by the templates only: its key is not
    written to the Secret (unless a template of that name writes it).
    """
    read = {k: v.encode() for k, v in values.items()}
    hidden = {
        str(item.get("key"))
        for item in spec_.get("data") or []
        if isinstance(item, Mapping) and item.get("templateOnly") is True
    }
    data = {k: v for k, v in read.items() if k not in hidden}
    templates = ((spec_.get("target") or {}).get("template") or {}).get("data")
    if templates:
        data.update(render_template_data(templates, read, where=where))
    return data


class VaultSecretReconciler(Reconciler):
    kind = VAULT_SECRET
    ref = VAULT_SECRETS

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
        queue: Queue | None = None,
    ):
        super().__init__(
            kube=kube, reporter=reporter, outcomes=metrics.vault, jitter=jitter, queue=queue
        )
        self.connections = connections
        self.writer = writer
        self.metrics = metrics
        self.clock = clock

    def secret_name(self, body: Mapping[str, Any]) -> str | None:
        target = cast(VaultSecretSpec, spec(body)).get("target") or {}
        if target.get("creationPolicy") == Policy.MERGE.value:
            return None  # keys merged into someone else's Secret, which carries no label of ours
        return str(target.get("name") or metadata(body).get("name", ""))

    def sync(self, body: Mapping[str, Any], ctx: Context) -> Outcome:
        meta, spec_ = metadata(body), cast(VaultSecretSpec, spec(body))
        namespace, name, where = meta.get("namespace", ""), meta.get("name", ""), ctx.where
        refresh = ctx.refresh = _refresh_interval(spec_, where=where)
        ctx.longest_retry = min(refresh, LONGEST_RETRY) if refresh > 0 else LONGEST_RETRY
        if meta.get("deletionTimestamp"):
            return Outcome(Reason.DELETING, "being deleted", event=False)
        self.writer.refuse_namespace(namespace, where=where)  # before any Vault read
        target = spec_.get("target") or {}
        secret_name = check_name(
            SECRETS, target.get("name") or name, field="spec.target.name", where=where
        )
        restarts = _restart_targets(spec_.get("rolloutRestartTargets"), where=where)
        ctx.status["secretName"] = secret_name
        policy = _policy(target, where=where)
        try:
            max_age = refresh if refresh > 0 else DEFAULT_REFRESH
            values = self._read(namespace, spec_, max_age=max_age, fresh=ctx.fresh)
        except SealopsError as exc:
            raise exc.located(where=where) from None
        data = _secret_data(spec_, values, where=where)
        desired = _desired(secret_name, namespace, data, target, where=where)
        owner = Owner(API_VERSION, VAULT_SECRET, name, meta.get("uid", ""))
        result = self.writer.apply(desired, owner, policy)
        changed = result.action != "unchanged"
        if changed:
            self.metrics.secret_writes.labels(VAULT_SECRET, result.action).inc()
            ctx.status["lastSyncTime"] = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
            log.info("%s Secret %s/%s from Vault", result.action, namespace, secret_name)
        if result.data_changed:
            self._restart(namespace, restarts, body)
        return Outcome(
            Reason.SYNCED,
            f"synced {len(data)} key(s) into Secret {secret_name}",
            event=changed,
            event_message=f"Secret {secret_name} {result.action}",
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
                raise ManifestError("key is required", field=f"{field}.key")
            try:
                values[key] = resolve_value(resolver, ref_of(str(item.get("ref", ""))))
            except VaultError as exc:
                raise exc.located(field=f"{field}.ref ({key})") from None
        if not values:
            raise ManifestError("names no value: add data or dataFrom", field="spec")
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
                    reason=EventReason.ROLLOUT_RESTARTED,
                    message=f"restarted {kind} {name}: its Secret changed",
                )
            except KubeError as exc:
                self.reporter.event(
                    body,
                    kind="Warning",
                    reason=EventReason.ROLLOUT_RESTART_FAILED,
                    message=f"{kind} {name}: {exc}",
                )
