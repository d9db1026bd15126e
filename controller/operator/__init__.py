"""The kopf wiring, and only that: build the app from its parts, register handlers, start loops.

The work is elsewhere: the reconcile skeleton (:mod:`controller.reconcile`) and each kind's sync
(:mod:`controller.sealedsecrets`, :mod:`controller.vaultsecrets`); the engines outside kopf's
handlers (:mod:`controller.engines`: leader, drift, resync, the queue's runs, the key loop).

kopf keeps its state in ``status.kopf``, never in annotations: its diff base is a digest of the
object's essence (:class:`DigestDiffBase`), not a copy of the spec. No handler needs a
finalizer, so a SealedSecret's metadata stays exactly as the user applied it and GitOps tools
show no drift. Handlers are synchronous, so kopf runs them (API calls, RSA work) in its thread
pool, off the event loop. No handler raises ``TemporaryError``: every retry goes through the one
queue (:class:`~controller.scheduler.Scheduler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import kopf

from controller.bitnami import BitnamiSealedSecretReconciler
from controller.connections import Connections
from controller.datahash import load_or_create_hasher
from controller.engines import leader as replica
from controller.engines.drift import Drift
from controller.engines.keys import KeyLoop, report_removed_key, update_key_metrics
from controller.engines.leader import Leader, own_identity, random_priority
from controller.engines.queue import QueueRuns
from controller.engines.resync import Resync
from controller.http import HttpServer
from controller.keyring import KeyPolicy, Keyring, KeyStore
from controller.metrics import Metrics
from controller.operator.kopfstate import DigestDiffBase, NamedConnection
from controller.operator.supervisor import KopfFailed, supervise
from controller.reconcile import Reconciler
from controller.reporting import Reporter
from controller.scheduler import Scheduler
from controller.sealedsecrets import SealedSecretReconciler
from controller.secretwriter import SecretWriter
from controller.settings import Settings
from controller.vaultconnections import (
    ClusterVaultConnectionReconciler,
    VaultConnectionReconciler,
)
from controller.vaultsecrets import VaultSecretReconciler
from sealer.api import (
    KOPF_FINALIZER,
    LABEL_MANAGED_BY,
    MANAGED_BY_VALUE,
    SECRETS,
    object_key,
)
from sealer.kube import Kube
from sealer.kubeclient import connect
from sealer.vault import RequestCounter, Resolver, VaultConfig

__all__ = [
    "App",
    "DigestDiffBase",
    "Server",
    "Settings",
    "assemble",
    "build_app",
    "build_registry",
    "run",
    "serve",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Server(Protocol):
    """The HTTP endpoints (:class:`~controller.http.HttpServer`)."""

    async def start(self, host: str, port: int) -> None: ...

    async def stop(self) -> None: ...

    def usage_changed(self) -> None: ...


@dataclass
class App:
    """Everything the handlers and loops share, built once (:func:`assemble`)."""

    settings: Settings
    kube: Kube
    metrics: Metrics
    keystore: KeyStore
    writer: SecretWriter
    sealed: SealedSecretReconciler
    vault: VaultSecretReconciler
    #: The connections' own status: whether they log in.
    connection_checks: tuple[VaultConnectionReconciler, ...]
    scheduler: Scheduler
    leader: Leader
    drift: Drift
    resync: Resync
    keys: KeyLoop
    http: Server | None = None
    #: Bitnami's SealedSecrets where they are, with ``--bitnami-compat``.
    bitnami: BitnamiSealedSecretReconciler | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def reconcilers(self) -> dict[str, Reconciler]:
        """By kind, as ``sealops.dev/owned-by`` and the queue's entries name them."""
        kinds: list[Reconciler] = [self.sealed, self.vault, *self.connection_checks]
        return {r.kind: r for r in (*kinds, self.bitnami) if r is not None}


#: The connections' login checks, one reconciler per kind.
_CHECKS = (VaultConnectionReconciler, ClusterVaultConnectionReconciler)


def assemble(
    settings: Settings,
    *,
    kube: Kube,
    keystore: KeyStore,
    writer: SecretWriter,
    reporter: Reporter,
    metrics: Metrics,
    connections: Connections,
    http: Server | None = None,
    clock: Callable[[], dt.datetime] = _now,
    jitter: Callable[[], float] = random.random,
) -> App:
    """The app from its parts: the reconcilers on one queue, and the engines around them."""
    reconcilers: dict[str, Reconciler] = {}
    leader = Leader(
        kube,
        peering=settings.peering,
        identity=settings.peering_identity,
        priority=settings.priority,
        clock=clock,
        sharded=bool(settings.watch_namespaces),
    )
    runs = QueueRuns(
        reconcilers=reconcilers,
        leader=leader,
        standby_delay=max(1.0, settings.peering_lifetime / 2),
    )
    scheduler = runs.queue = Scheduler(runs, workers=settings.workers)
    sealed = SealedSecretReconciler(
        keyring=keystore.keyring, keystore=keystore, writer=writer, reporter=reporter,
        metrics=metrics, jitter=jitter, queue=scheduler,
    )  # fmt: skip
    vault = VaultSecretReconciler(
        kube=kube, connections=connections, writer=writer, reporter=reporter, metrics=metrics,
        clock=clock, jitter=jitter, queue=scheduler,
    )  # fmt: skip
    checks = tuple(check(kube=kube, connections=connections, reporter=reporter, metrics=metrics,
                         jitter=jitter, queue=scheduler) for check in _CHECKS)  # fmt: skip
    reconcilers.update({r.kind: r for r in (sealed, vault, *checks)})
    bitnami = None
    if settings.bitnami_compat:
        bitnami = BitnamiSealedSecretReconciler(
            keyring=keystore.keyring, keystore=keystore, writer=writer, reporter=reporter,
            metrics=metrics, jitter=jitter, queue=scheduler,
        )  # fmt: skip
        reconcilers[bitnami.kind] = bitnami
    return App(
        settings=settings, kube=kube, metrics=metrics, keystore=keystore, writer=writer,
        sealed=sealed, vault=vault, connection_checks=checks, scheduler=scheduler, leader=leader,
        drift=Drift(kube=kube, writer=writer, reconcilers=reconcilers, metrics=metrics),
        resync=Resync(
            kube=kube, writer=writer, reconcilers=reconcilers, leader=leader, metrics=metrics,
            namespaces=settings.watch_namespaces, interval=settings.resync_interval,
        ),
        keys=KeyLoop(keystore=keystore, metrics=metrics, interval=settings.key_sync_interval,
                     may_renew=leader.may_renew_keys),
        http=http, bitnami=bitnami,
    )  # fmt: skip


def build_app(settings: Settings) -> App:
    """The real parts: the API client, the key store (keys loaded), Vault, HTTP."""
    settings = dataclasses.replace(settings, peering_identity=_identity(settings))
    kube = connect(
        user_agent=replica.user_agent(_identity(settings)), field_manager=replica.FIELD_MANAGER
    )
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
    keystore.on_removed = lambda pair: report_removed_key(
        reporter, metrics, pair, settings.namespace
    )
    keystore.ensure_current()
    update_key_metrics(metrics, keystore)
    counter = RequestCounter()
    metrics.export_vault_requests(counter.snapshot)
    connections = Connections(
        kube=kube,
        controller_namespace=settings.namespace,
        factory=_hvac_factory(counter),
        counter=counter,
        api_audiences=settings.api_audiences,
        login=_hvac_login(counter),
    )
    http = HttpServer(
        keyring=keyring, kube=kube, metrics=metrics, rate=settings.rate_limit,
        burst=settings.rate_burst,
    )  # fmt: skip
    writer = SecretWriter(kube=kube, hasher=hasher, controller_namespace=settings.namespace)
    return assemble(
        settings, kube=kube, keystore=keystore, writer=writer, reporter=reporter,
        metrics=metrics, connections=connections, http=http,
    )  # fmt: skip


def _identity(settings: Settings) -> str:
    return settings.peering_identity or own_identity()  # run() fixes it for the process


def _hvac_factory(counter: RequestCounter) -> Callable[[VaultConfig], Resolver]:
    def make(config: VaultConfig) -> Resolver:
        from sealer.vault.hvac_backend import HvacResolver  # hvac loads with the first connection

        return HvacResolver(config, counter=counter)

    return make


def _hvac_login(counter: RequestCounter) -> Callable[[VaultConfig], None]:
    def login(config: VaultConfig) -> None:
        from sealer.vault.hvac_backend import HvacResolver

        resolver = HvacResolver(config, counter=counter)
        try:
            resolver.check_login()
        finally:
            resolver.close()

    return login


def build_registry(app: App) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    _register_lifecycle(registry, app)
    _register_kind(registry, app, app.sealed, handler_id="sealed_secret")
    _register_kind(registry, app, app.vault, handler_id="vault_secret")
    for check in app.connection_checks:
        _register_kind(registry, app, check, handler_id=f"{check.ref.plural[:-1]}_check")
    if app.bitnami is not None:
        _register_kind(registry, app, app.bitnami, handler_id="bitnami_sealed_secret")

    @kopf.on.event(
        SECRETS.group, SECRETS.version, SECRETS.plural,
        labels={LABEL_MANAGED_BY: MANAGED_BY_VALUE}, registry=registry,
    )  # fmt: skip
    def managed_secret(event: kopf.RawEvent, **_: Any) -> None:
        app.drift.check(event)

    return registry


def _register_lifecycle(registry: kopf.OperatorRegistry, app: App) -> None:
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # KUBECONFIG or in-cluster, exactly as the kubernetes client (and sealer.kubeclient) does,
        # naming this replica in kopf's requests as in ours.
        info = kopf.login_via_client(**kwargs)
        agent = replica.user_agent(_identity(app.settings))
        return (
            None if info is None else NamedConnection(**dataclasses.asdict(info), user_agent=agent)
        )

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # At every start of kopf (the supervisor starts it again in-process after a failure),
        # as the cleanup below runs at every stop.
        settings.persistence.diffbase_storage = DigestDiffBase(field="status.kopf.diffbase")
        settings.persistence.progress_storage = kopf.StatusProgressStorage(
            field="status.kopf.progress"
        )
        settings.persistence.finalizer = KOPF_FINALIZER  # never added: no delete handlers
        settings.posting.enabled = False  # we post our own Events, with reasons users can filter
        settings.execution.max_workers = app.settings.workers
        settings.peering.lifetime = app.settings.peering_lifetime
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        # kopf SIGKILLs its process 10 min after it stops on an error (restarted by then).
        settings.process.ultimate_exiting_timeout = None
        for loop in (app.keys.serve(), app.resync.serve(), app.scheduler.serve()):
            app.tasks.append(asyncio.create_task(loop))

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        # Also before the supervisor starts kopf again: the next startup starts these afresh.
        # (Stopped here, inside kopf's run, else kopf waits 5 s for the tasks they spawned.)
        for task in app.tasks:
            task.cancel()
        for task in app.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        app.tasks.clear()
        app.vault.connections.close()  # the resolvers' sessions (made again on the next read)


async def serve(app: App, registry: kopf.OperatorRegistry, **kwargs: Any) -> None:
    """kopf, started again in-process after a failure, until a signal stops it."""
    app.leader.follow_kopf()  # kopf pausing: the queue and the resync stop at once
    if app.http is not None:  # up across kopf's restarts: /healthz and /metrics keep answering
        await app.http.start(app.settings.http_host, app.settings.http_port)
    try:
        await supervise(lambda: kopf.operator(registry=registry, **kwargs))
    finally:
        if app.http is not None:
            await app.http.stop()


def _register_kind(
    registry: kopf.OperatorRegistry, app: App, reconciler: Reconciler, *, handler_id: str
) -> None:
    ref = reconciler.ref
    where: dict[str, Any] = {"registry": registry, "id": handler_id}

    @kopf.on.resume(ref.group, ref.version, ref.plural, **where)
    @kopf.on.create(ref.group, ref.version, ref.plural, **where)
    @kopf.on.update(ref.group, ref.version, ref.plural, **where)
    def changed(body: kopf.Body, patch: kopf.Patch, reason: str, **_: Any) -> None:
        # The status goes out in kopf's own PATCH with its diff base: one write and one watch
        # event per reconcile, not two. With two, the first event (status, no diff base yet)
        # reaches kopf's worker before the second; when the stream lags more than kopf's
        # consistency timeout (under load), kopf takes it for a new object and reconciles again.
        def to_patch(status: dict[str, Any]) -> None:
            for key, value in status.items():
                patch.status[key] = value

        # Edited (or annotated, e.g. sealops.dev/force-sync): read Vault afresh rather than from
        # the refresh window's cache, so the change shows now, and back off afresh. Created or
        # resumed: the cache serves, so 500 new VaultSecrets over 100 paths still cost 100 reads.
        reconciler.reconcile(dict(body), status_sink=to_patch, fresh=reason == "update")
        if reconciler in (app.sealed, app.bitnami) and app.http is not None:
            app.http.usage_changed()  # /v1/keys counts afresh (its cache lists once a second)

    @kopf.on.event(ref.group, ref.version, ref.plural, registry=registry, id=f"{handler_id}_gone")
    def gone(event: kopf.RawEvent, **_: Any) -> None:
        if event.get("type") == "DELETED" and isinstance(event.get("object"), Mapping):
            reconciler.forget(object_key(event["object"]))  # its lock, failures, queued run


def run(settings: Settings) -> None:
    # One identity per process, with or without peering: its key in the peering and its name in
    # every request's User-Agent (kopf's and ours).
    settings = dataclasses.replace(settings, peering_identity=_identity(settings))
    if settings.peering:
        # Fixed here, not left to kopf, so the resync and the queue judge the peering as kopf does.
        settings = dataclasses.replace(
            settings,
            priority=settings.priority if settings.priority is not None else random_priority(),
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
    try:
        asyncio.run(serve(app, registry, **kwargs))
    except KopfFailed as exc:
        raise SystemExit(f"sealops-controller: {exc}") from None
