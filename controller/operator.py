"""The kopf wiring: settings, handlers and background loops. Thin: the logic is elsewhere.

kopf keeps its state in ``status.kopf`` (diff base and retry progress), never in annotations, and
no handler needs a finalizer, so a SealedSecret's metadata stays exactly as the user applied it
and GitOps tools show no drift. Handlers are synchronous, so kopf runs them (API calls, RSA work)
in its thread pool, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from controller.connections import DEFAULT_API_AUDIENCES, Connections
from controller.datahash import load_or_create_hasher
from controller.http import HttpServer
from controller.keyring import KeyPolicy, Keyring, KeyStore
from controller.metrics import Metrics
from controller.peering import is_active, own_identity
from controller.reporting import Reporter, StatusSink
from controller.scheduler import Scheduler
from controller.sealedsecrets import SealedSecretReconciler
from controller.secretwriter import SecretWriter
from controller.vaultsecrets import VaultSecretReconciler
from sealer.api import (
    ANN_OWNED_BY,
    CLUSTER_PEERINGS,
    KIND_REFS,
    KOPF_FINALIZER,
    LABEL_MANAGED_BY,
    MANAGED_BY_VALUE,
    PEERINGS,
    SEALED_SECRET,
    SEALED_SECRETS,
    SECRETS,
    VAULT_SECRETS,
)
from sealer.errors import SealopsError
from sealer.keys import KeyPair
from sealer.kube import KubeNotFound
from sealer.kubeclient import KubeApi, connect
from sealer.vault import RequestCounter, Resolver, VaultConfig

__all__ = ["Settings", "build_registry", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    namespace: str = "sealops-system"
    http_host: str = "0.0.0.0"  # noqa: S104 - a Service routes to it inside the cluster
    http_port: int = 8080
    key_renew_period: float = 30 * 86400.0
    key_cutoff_time: dt.datetime | None = None
    bitnami_compat: bool = False
    bitnami_namespace: str = "kube-system"
    watch_namespaces: tuple[str, ...] = ()
    peering: str | None = None
    priority: int | None = None
    peering_lifetime: int = 60
    peering_identity: str | None = None  # set by run() with --peering: our key in the peering
    key_sync_interval: float = 30.0
    resync_interval: float = 600.0
    rate_limit: float = 20.0  # private-key operations per second, per client
    rate_burst: int = 512
    workers: int = 4
    key_size: int = 4096
    kubeconfig: str | None = None
    api_audiences: tuple[str, ...] = DEFAULT_API_AUDIENCES
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class App:
    """Everything the handlers share, built once at startup."""

    settings: Settings
    kube: KubeApi
    metrics: Metrics
    keyring: Keyring
    keystore: KeyStore
    sealed: SealedSecretReconciler
    writer: SecretWriter
    http: HttpServer
    vault: VaultSecretReconciler
    scheduler: Scheduler
    vault_requests: RequestCounter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # SealedSecrets not converged at the last resync: (namespace, name) -> resourceVersion.
    stuck: dict[tuple[str, str], str] = field(default_factory=dict)


def build_app(settings: Settings) -> App:
    kube = connect(kubeconfig=settings.kubeconfig)
    metrics = Metrics()
    keyring = Keyring()
    # The data-hash key first: a key derived from it marks the sealing keys this controller (or a
    # peer replica) makes, the only new keys loaded while running (controller.keyring).
    hasher = load_or_create_hasher(kube, settings.namespace)
    keystore = KeyStore(
        kube=kube,
        keyring=keyring,
        clock=_now,
        origin_key=hasher.derive("key-origin"),
        policy=KeyPolicy(
            namespace=settings.namespace,
            renew_period=settings.key_renew_period,
            cutoff=settings.key_cutoff_time,
            bitnami_namespace=settings.bitnami_namespace if settings.bitnami_compat else None,
            key_size=settings.key_size,
        ),
    )
    reporter = Reporter(kube=kube, clock=_now)
    keystore.load()
    keystore.on_removed = lambda pair: _report_removed_key(
        reporter, metrics, pair, settings.namespace
    )
    keystore.ensure_current()
    writer = SecretWriter(kube=kube, hasher=hasher, controller_namespace=settings.namespace)
    sealed = SealedSecretReconciler(
        keyring=keyring, keystore=keystore, writer=writer, reporter=reporter, metrics=metrics
    )
    http = HttpServer(
        keyring=keyring,
        kube=kube,
        metrics=metrics,
        rate=settings.rate_limit,
        burst=settings.rate_burst,
    )
    _update_key_metrics(metrics, keystore)
    counter = RequestCounter()
    metrics.export_vault_requests(counter.snapshot)
    connections = Connections(
        kube=kube,
        controller_namespace=settings.namespace,
        factory=_hvac_factory(counter),
        counter=counter,
        api_audiences=settings.api_audiences,
    )
    vault = VaultSecretReconciler(
        kube=kube,
        connections=connections,
        writer=writer,
        reporter=reporter,
        metrics=metrics,
        clock=_now,
    )
    app = App(
        settings, kube, metrics, keyring, keystore, sealed, writer, http, vault,
        Scheduler(lambda key: _refresh(app, key), workers=settings.workers), counter,
    )  # fmt: skip
    return app


def _hvac_factory(counter: RequestCounter) -> Callable[[VaultConfig], Resolver]:
    def make(config: VaultConfig) -> Resolver:
        from sealer.vault.hvac_backend import HvacResolver  # hvac loads with the first connection

        return HvacResolver(config, counter=counter)

    return make


def _refresh(app: App, key: str) -> None:
    """A scheduled VaultSecret refresh (or retry): read it afresh, sync, schedule the next."""
    namespace, _, name = key.partition("/")
    try:
        body = app.kube.get(VAULT_SECRETS, namespace, name)
    except KubeNotFound:
        app.vault.forget(key)
        return
    _sync_vault_secret(app, body)


def _sync_vault_secret(
    app: App, body: Mapping[str, Any], *, status_sink: StatusSink | None = None, fresh: bool = False
) -> None:
    meta = body.get("metadata") or {}
    key = f"{meta.get('namespace')}/{meta.get('name')}"
    result = app.vault.reconcile(body, status_sink=status_sink, fresh=fresh)
    if result.next_run is None:
        app.scheduler.cancel(key)
    else:
        app.scheduler.schedule(key, result.next_run)


def _report_removed_key(
    reporter: Reporter, metrics: Metrics, pair: KeyPair, namespace: str
) -> None:
    """A loaded key's Secret is gone: a metric, a warning and an Event on that Secret."""
    metrics.keys_removed.inc()
    name = pair.name.rpartition("/")[2] or "unknown"
    message = (
        f"sealing key {pair.fingerprint} ({pair.name}) was removed: values sealed only for it "
        "cannot be unsealed until it is restored from a backup; no Secret was deleted"
    )
    log.warning(message)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
    }
    reporter.event(secret, kind="Warning", reason="SealingKeyRemoved", message=message)


def _update_key_metrics(metrics: Metrics, keystore: KeyStore) -> None:
    keys = keystore.keyring.all()
    newest = keystore.keyring.newest()
    metrics.keys.labels("sealing").set(1 if newest else 0)
    metrics.keys.labels("total").set(len(keys))
    metrics.key_load_errors.set(len(keystore.load_errors))
    if newest and newest.created:
        metrics.newest_key_created.set(newest.created.timestamp())


def build_registry(app: App) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    group, version, plural = SEALED_SECRETS.group, SEALED_SECRETS.version, SEALED_SECRETS.plural

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # KUBECONFIG or in-cluster, exactly as the kubernetes client (and sealer.kubeclient) does.
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(
            field="status.kopf.diffbase"
        )
        settings.persistence.progress_storage = kopf.StatusProgressStorage(
            field="status.kopf.progress"
        )
        settings.persistence.finalizer = KOPF_FINALIZER  # never added: no delete handlers
        settings.posting.enabled = False  # we post our own Events, with reasons users can filter
        settings.execution.max_workers = app.settings.workers
        settings.peering.lifetime = app.settings.peering_lifetime
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        await app.http.start(app.settings.http_host, app.settings.http_port)
        app.tasks.append(asyncio.create_task(_key_loop(app)))
        app.tasks.append(asyncio.create_task(_resync_loop(app)))
        app.tasks.append(asyncio.create_task(app.scheduler.serve()))

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        for task in app.tasks:
            task.cancel()
        for task in app.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await app.http.stop()

    @kopf.on.resume(group, version, plural, registry=registry)
    @kopf.on.create(group, version, plural, registry=registry)
    @kopf.on.update(group, version, plural, registry=registry)
    def sealed_secret(body: kopf.Body, retry: int, patch: kopf.Patch, **_: Any) -> None:
        # The status goes out in kopf's own PATCH with its diff base: one write and one watch
        # event per reconcile, not two. With two, the first event (status, no diff base yet)
        # reaches kopf's worker before the second; when the stream lags more than kopf's
        # consistency timeout (under load), kopf takes it for a new object and unseals again.
        def to_patch(status: dict[str, Any]) -> None:
            for key, value in status.items():
                patch.status[key] = value

        verdict = app.sealed.reconcile(dict(body), retry=retry, status_sink=to_patch)
        app.http.usage_changed()  # /v1/keys counts afresh (its cache lists at most once a second)
        if verdict.retry_after is not None:
            raise kopf.TemporaryError(verdict.message, delay=verdict.retry_after)

    vgroup, vversion, vplural = VAULT_SECRETS.group, VAULT_SECRETS.version, VAULT_SECRETS.plural

    @kopf.on.resume(vgroup, vversion, vplural, registry=registry)
    @kopf.on.create(vgroup, vversion, vplural, registry=registry)
    @kopf.on.update(vgroup, vversion, vplural, registry=registry)
    def vault_secret(body: kopf.Body, patch: kopf.Patch, reason: str, **_: Any) -> None:
        # Retries and refreshes go through our scheduler, not kopf's (no finalizers, no timers).
        # The status rides in kopf's own PATCH, as for SealedSecrets (one watch event, not two).
        def to_patch(status: dict[str, Any]) -> None:
            for key, value in status.items():
                patch.status[key] = value

        # Edited (or annotated, e.g. sealops.dev/force-sync): read Vault afresh rather than from
        # the refresh window's cache, so the change shows now. Created or resumed: the cache
        # serves, so 500 new VaultSecrets over 100 paths still cost 100 reads.
        fresh = reason == "update"
        _sync_vault_secret(app, dict(body), status_sink=to_patch, fresh=fresh)

    @kopf.on.event(
        "", "v1", "secrets", labels={LABEL_MANAGED_BY: MANAGED_BY_VALUE}, registry=registry
    )
    def managed_secret(event: kopf.RawEvent, **_: Any) -> None:
        _check_drift(app, event)

    return registry


def _check_drift(app: App, event: Any) -> None:
    """A managed Secret was deleted or edited: put it back from its SealedSecret or VaultSecret."""
    secret = event.get("object") or {}
    meta = secret.get("metadata") or {}
    owner_kind, _, owner_name = str(
        (meta.get("annotations") or {}).get(ANN_OWNED_BY, "")
    ).partition("/")
    owner_ref = KIND_REFS.get(owner_kind)
    if owner_ref is None or not owner_name:
        return
    deleted = event.get("type") == "DELETED"
    if not deleted and app.writer.in_sync(secret):
        return
    try:
        body = app.kube.get(owner_ref, meta.get("namespace"), owner_name)
    except KubeNotFound:
        return  # the owner is gone; garbage collection removes its Secret
    except SealopsError as exc:
        log.warning("drift check of Secret %s/%s: %s", meta.get("namespace"), meta.get("name"), exc)
        return
    if (body.get("metadata") or {}).get("deletionTimestamp"):
        return
    log.info("Secret %s/%s was %s: restoring it", meta.get("namespace"), meta.get("name"),
             "deleted" if deleted else "edited")  # fmt: skip
    app.metrics.drift.labels(owner_kind).inc()
    if owner_ref is VAULT_SECRETS:
        _sync_vault_secret(app, body)
    else:
        app.sealed.reconcile(body)


async def _key_loop(app: App) -> None:
    """Reload key Secrets (restores, imports, other replicas' renewals) and renew when due."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(app.settings.key_sync_interval)
        try:
            await loop.run_in_executor(None, app.keystore.load)
            await loop.run_in_executor(None, app.keystore.ensure_current)
            _update_key_metrics(app.metrics, app.keystore)
        except SealopsError as exc:
            log.warning("key sync failed: %s", exc)
        except Exception:
            log.exception("key sync failed")


async def _resync_loop(app: App) -> None:
    """Catch drift that a lost watch event would hide: check every managed Secret's hash."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(app.settings.resync_interval)
        try:
            await loop.run_in_executor(None, _resync_once, app)
        except Exception:
            log.exception("resync failed")


def _resync_once(app: App) -> None:

    namespaces = app.settings.watch_namespaces or (None,)
    for namespace in namespaces:
        if not _is_active(app, namespace):
            log.debug("resync skipped in %s: a peer is active", namespace or "all namespaces")
            continue
        secrets = {
            ((s.get("metadata") or {}).get("namespace"), (s.get("metadata") or {}).get("name")): s
            for s in app.kube.list(
                SECRETS, namespace, label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"
            )
        }
        stuck: dict[tuple[str, str], str] = {}
        for body in app.kube.list(SEALED_SECRETS, namespace):
            meta = body.get("metadata") or {}
            secret = secrets.get((meta.get("namespace"), meta.get("name")))
            if not _converged(body):
                # kopf drops an object whose status patch failed (a 409 or 500 from the API)
                # until its next watch event, which may never come: its reconcile, or its
                # retry, is lost. What stayed unchanged and not Ready for its generation over a
                # whole interval is reconciled again, read afresh: a newer one is kopf's backlog,
                # a deleted one must not get its Secret back.
                key = (str(meta.get("namespace")), str(meta.get("name")))
                version = str(meta.get("resourceVersion"))
                stuck[key] = version
                if app.stuck.get(key) == version and not meta.get("deletionTimestamp"):
                    _reconcile_stuck(app, key, version)
            elif secret is None or not app.writer.in_sync(secret):
                app.metrics.drift.labels(SEALED_SECRET).inc()
                app.sealed.reconcile(body)
        kept = (
            {} if namespace is None else {k: v for k, v in app.stuck.items() if k[0] != namespace}
        )
        app.stuck = {**kept, **stuck}


def _reconcile_stuck(app: App, key: tuple[str, str], version: str) -> None:
    try:
        body = app.kube.get(SEALED_SECRETS, key[0], key[1])
    except KubeNotFound:
        return
    if str((body.get("metadata") or {}).get("resourceVersion")) != version:
        return  # it moved on: kopf has it
    log.info("resync: SealedSecret %s/%s is not Ready for its generation", *key)
    app.sealed.reconcile(body)


def _converged(body: Mapping[str, Any]) -> bool:
    """Ready=True, written for the object's current generation."""
    status = body.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    generation = (body.get("metadata") or {}).get("generation")
    return ready and status.get("observedGeneration") == generation


def _is_active(app: App, namespace: str | None) -> bool:
    """Whether kopf lets this replica act (in ``namespace``): kopf pauses only its handlers."""
    settings = app.settings
    if not settings.peering or settings.peering_identity is None or settings.priority is None:
        return True  # standalone
    ref, where = (PEERINGS, namespace) if namespace else (CLUSTER_PEERINGS, None)
    try:
        body = app.kube.get(ref, where, settings.peering)
    except KubeNotFound:
        return False  # kopf, too, stays paused until its peering object exists
    except SealopsError as exc:
        log.warning("cannot read peering %s: %s", settings.peering, exc)
        return False
    return is_active(
        body.get("status"),
        identity=settings.peering_identity,
        priority=settings.priority,
        now=_now(),
    )


def run(settings: Settings) -> None:
    if settings.peering:
        # Fixed here, not left to kopf, so the resync loop can judge the peering as kopf does.
        settings = dataclasses.replace(
            settings,
            priority=settings.priority if settings.priority is not None else _random_priority(),
            peering_identity=own_identity(),
        )
    app = build_app(settings)
    registry = build_registry(app)
    kwargs: dict[str, Any] = {}
    if settings.watch_namespaces:
        kwargs["namespaces"] = list(settings.watch_namespaces)
    else:
        kwargs["clusterwide"] = True
    if settings.peering:
        kwargs["peering_name"] = settings.peering
        kwargs["priority"] = settings.priority
        kwargs["identity"] = settings.peering_identity
        kwargs["standalone"] = False
    else:
        kwargs["standalone"] = True
    kopf.run(registry=registry, **kwargs)


def _random_priority() -> int:
    # Peers with equal priority all pause; distinct random priorities make exactly one active.
    import secrets

    return 1 + secrets.randbelow(2**30)
