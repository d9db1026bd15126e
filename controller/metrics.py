"""Prometheus metrics, all prefixed ``sealops_``, in a registry of the controller's own.

Labels never carry values or Secret names: reasons, key fingerprints (public), paths, codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["Metrics"]


class _CountsCollector(Collector):
    """Exports counts kept elsewhere (a snapshot callable) as one labelled counter."""

    def __init__(
        self, name: str, documentation: str, label: str, counts: Callable[[], Mapping[str, int]]
    ) -> None:
        self._name, self._doc, self._label, self._counts = name, documentation, label, counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._doc, labels=[self._label])
        for value, count in sorted(self._counts().items()):
            family.add_metric([value], count)
        yield family


class Metrics:
    """Every metric the controller exports, by what it is about; one registry per instance.

    The groups are made in the order their metrics are exported.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._add_unseal_metrics(self.registry)
        self._add_key_metrics(self.registry)
        self._add_sync_metrics(self.registry)
        self._add_http_metrics(self.registry)

    def _add_unseal_metrics(self, r: CollectorRegistry) -> None:
        """SealedSecret reconciles and the RSA work they cost."""
        self.unseal = Counter(
            "sealops_unseal",
            "SealedSecret reconciles by result and reason",
            ["result", "reason"],
            registry=r,
        )
        self.private_key_ops = Counter(
            "sealops_private_key_operations",
            "RSA private-key operations (decryptions attempted)",
            registry=r,
        )
        self.values_unsealed = Counter(
            "sealops_values_unsealed", "Sealed values opened", registry=r
        )
        self.unseal_skipped = Counter(
            "sealops_unseal_skipped",
            "SealedSecret reconciles that opened nothing: the Secret was made from this source",
            registry=r,
        )
        self.unseal_cpu = Counter(
            "sealops_unseal_cpu_seconds", "Thread CPU time spent opening sealed values", registry=r
        )
        self.key_usage = Counter(
            "sealops_key_usage",
            "Values opened, by the key that opened them",
            ["fingerprint"],
            registry=r,
        )

    def _add_key_metrics(self, r: CollectorRegistry) -> None:
        """The sealing keys loaded, lost and failing to load."""
        self.keys = Gauge(
            "sealops_keys", "Keys loaded, by whether they may seal", ["state"], registry=r
        )
        self.keys_removed = Counter(
            "sealops_keys_removed", "Sealing keys whose Secret disappeared while loaded", registry=r
        )
        self.key_load_errors = Gauge(
            "sealops_key_load_errors",
            "Key Secrets that could not be loaded at the last sync",
            registry=r,
        )
        self.newest_key_created = Gauge(
            "sealops_newest_key_created_timestamp_seconds",
            "Creation time of the sealing key",
            registry=r,
        )

    def _add_sync_metrics(self, r: CollectorRegistry) -> None:
        """Secrets written, drift restored, VaultSecret syncs."""
        self.secret_writes = Counter(
            "sealops_secret_writes",
            "Secrets written, by source kind and action",
            ["kind", "action"],
            registry=r,
        )
        self.drift = Counter(
            "sealops_drift_corrections",
            "Managed Secrets restored after drift",
            ["kind"],
            registry=r,
        )
        self.vault = Counter(
            "sealops_vault_sync",
            "VaultSecret syncs by result and reason",
            ["result", "reason"],
            registry=r,
        )

    def _add_http_metrics(self, r: CollectorRegistry) -> None:
        """The HTTP endpoints: requests, refusals, the LISTs behind /v1/keys, latency."""
        self.http_requests = Counter(
            "sealops_http_requests", "HTTP requests served", ["path", "method", "code"], registry=r
        )
        self.http_rate_limited = Counter(
            "sealops_http_rate_limited",
            "HTTP requests refused with 429: the client's token bucket was short",
            ["path"],
            registry=r,
        )
        self.key_usage_lists = Counter(
            "sealops_key_usage_lists",
            "Cluster-wide LISTs of SealedSecrets made to count key usage for /v1/keys",
            registry=r,
        )
        self.http_seconds = Histogram(
            "sealops_http_request_duration_seconds", "HTTP request latency", ["path"], registry=r
        )

    def export_vault_requests(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """``sealops_vault_requests_total{kind}``: HTTP requests sent to Vault, by kind.

        ``counts`` is the resolvers' shared ``RequestCounter.snapshot``, which counts each
        request once, just before it is sent (read, login, mount, renew, lookup).
        """
        self.registry.register(
            _CountsCollector(
                "sealops_vault_requests", "HTTP requests sent to Vault, by kind", "kind", counts
            )
        )
