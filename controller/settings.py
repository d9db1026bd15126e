"""The controller's settings, from the command line (:mod:`controller.cli`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from controller.connections import DEFAULT_API_AUDIENCES

__all__ = ["Settings"]


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
    peering_identity: str | None = None  # set by run(): our key in the peering, our User-Agent
    key_sync_interval: float = 30.0
    resync_interval: float = 600.0
    rate_limit: float = 20.0  # private-key operations per second, per client
    rate_burst: int = 512
    workers: int = 4
    key_size: int = 4096
    api_audiences: tuple[str, ...] = DEFAULT_API_AUDIENCES
