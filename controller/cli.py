"""``sealops-controller``: flags (each also an environment variable ``SEALOPS_<FLAG>``) → run.

Fixed entry points that outside checks use: ``KUBECONFIG`` (else in-cluster config),
``--namespace`` (default ``sealops-system``, where key Secrets live) and ``--http-port``
(default 8080, all endpoints).
"""

from __future__ import annotations

import datetime as dt

import click

from controller.connections import DEFAULT_API_AUDIENCES
from controller.durations import parse_duration
from controller.logs import configure_logging
from sealer.rfc3339 import parse_rfc3339

__all__ = ["main"]


class _Duration(click.ParamType):  # type: ignore[type-arg]
    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _cutoff(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an RFC 3339 time (2026-01-31T00:00:00Z)"
        ) from None


@click.command(context_settings={"auto_envvar_prefix": "SEALOPS", "show_default": True})
@click.option(
    "--namespace", default="sealops-system", help="The controller's namespace (key Secrets)."
)
@click.option(
    "--http-port", type=click.IntRange(0, 65535), default=8080, help="Port of all HTTP endpoints."
)
@click.option("--http-host", default="0.0.0.0", help="Address to listen on.")  # noqa: S104
@click.option(
    "--key-renew-period",
    type=_Duration(),
    default="720h",
    help="Make a new sealing key this often (0 = never).",
)
@click.option(
    "--key-cutoff-time",
    help="Once this RFC 3339 time has passed, make a new key if the newest predates it.",
)
@click.option(
    "--bitnami-compat/--no-bitnami-compat",
    default=False,
    help="Also unseal with Bitnami's key Secrets and reconcile bitnami.com SealedSecrets in place.",
)
@click.option("--bitnami-namespace", default="kube-system", help="Where Bitnami's key Secrets are.")
@click.option(
    "--watch-namespace",
    "watch_namespaces",
    multiple=True,
    help="Only these namespaces (repeat; shards by namespace). Default: all.",
)
@click.option(
    "--peering", default=None, help="kopf peering name: run several replicas, one active."
)
@click.option(
    "--priority",
    type=int,
    default=None,
    help="Peering priority (default: random, so exactly one replica leads).",
)
@click.option(
    "--peering-lifetime",
    type=click.IntRange(5),
    default=60,
    help="Seconds after which a silent peer is gone.",
)
@click.option(
    "--key-sync-interval", type=_Duration(), default="30s", help="How often to reload key Secrets."
)
@click.option(
    "--resync-interval",
    type=_Duration(),
    default="10m",
    help="How often to check every managed Secret for drift.",
)
@click.option(
    "--rate-limit",
    type=float,
    default=20.0,
    help="Private-key operations per second per client on /v1/verify, /v1/rotate and /v1/keys.",
)
@click.option(
    "--rate-burst",
    type=int,
    default=512,
    help="Burst for --rate-limit; at least 512, what one request may cost.",
)
@click.option("--workers", type=click.IntRange(1), default=4, help="Handler threads.")
@click.option(
    "--key-size",
    type=click.Choice(["2048", "3072", "4096"]),
    default="4096",
    help="RSA size of new keys.",
)
@click.option(
    "--api-audience",
    "api_audiences",
    multiple=True,
    default=DEFAULT_API_AUDIENCES,
    help="An audience of the Kubernetes API server (repeat): a VaultConnection may not ask for "
    "tokens with it. The server's own is also learned from a TokenRequest.",
)
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info"
)
@click.option("--log-format", type=click.Choice(["json", "plain"]), default="json")
def main(
    namespace: str,
    http_port: int,
    http_host: str,
    key_renew_period: float,
    key_cutoff_time: str | None,
    bitnami_compat: bool,
    bitnami_namespace: str,
    watch_namespaces: tuple[str, ...],
    peering: str | None,
    priority: int | None,
    peering_lifetime: int,
    key_sync_interval: float,
    resync_interval: float,
    rate_limit: float,
    rate_burst: int,
    workers: int,
    key_size: str,
    api_audiences: tuple[str, ...],
    log_level: str,
    log_format: str,
) -> None:
    """The sealops controller: SealedSecrets and VaultSecrets into Secrets."""
    configure_logging(level=log_level, fmt=log_format)
    from controller.operator import run  # kopf and kubernetes load after flag checks
    from controller.settings import Settings
    from sealer.errors import SealopsError

    try:
        run(
            Settings(
                namespace=namespace,
                http_host=http_host,
                http_port=http_port,
                key_renew_period=key_renew_period,
                key_cutoff_time=_cutoff(key_cutoff_time),
                bitnami_compat=bitnami_compat,
                bitnami_namespace=bitnami_namespace,
                watch_namespaces=watch_namespaces,
                peering=peering,
                priority=priority,
                peering_lifetime=peering_lifetime,
                key_sync_interval=max(key_sync_interval, 1.0),
                resync_interval=max(resync_interval, 5.0),
                rate_limit=rate_limit,
                rate_burst=rate_burst,
                workers=workers,
                key_size=int(key_size),
                api_audiences=tuple(api_audiences),
            )
        )
    except SealopsError as exc:
        raise click.ClickException(str(exc)) from exc
