"""The key loop: reload key Secrets (restores, imports, peers' renewals) and renew when due.

Every ``--key-sync-interval``; also the key metrics, and the report of a loaded key whose Secret
disappeared (a metric, a warning and an Event on that Secret; nothing is deleted). Every replica
reloads; only the one ``may_renew`` allows (the peering's active one) makes a due key, so a
standby never writes a key Secret: it loads the active one's at its next sync. (Without that,
every replica would try the create, the renewal slot's name making one of them win and the
others get 409.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from controller.keyring import KeyStore
from controller.metrics import Metrics
from controller.reporting import Reporter
from sealer.api import EventReason, SecretBody
from sealer.errors import SealopsError
from sealer.keys import KeyPair

__all__ = ["KeyLoop", "report_removed_key", "update_key_metrics"]

log = logging.getLogger(__name__)


class KeyLoop:
    def __init__(
        self,
        *,
        keystore: KeyStore,
        metrics: Metrics,
        interval: float = 30.0,
        may_renew: Callable[[], bool] = lambda: True,
    ):
        self.keystore = keystore
        self.metrics = metrics
        self.interval = interval
        self.may_renew = may_renew

    def sync(self) -> None:
        """Reload the key Secrets; make a due key if this replica may (blocking: an executor's)."""
        self.keystore.load()
        if self.may_renew():
            self.keystore.ensure_current()
        elif self.keystore.due() is not None:
            log.debug("a key is due: left to the active replica")

    async def serve(self) -> None:
        """Run forever in the operator's loop, the key work in an executor (cancel to stop)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            try:
                await loop.run_in_executor(None, self.sync)
                update_key_metrics(self.metrics, self.keystore)
            except SealopsError as exc:
                log.warning("key sync failed: %s", exc)
            except Exception:
                log.exception("key sync failed")


def update_key_metrics(metrics: Metrics, keystore: KeyStore) -> None:
    keys = keystore.keyring.all()
    newest = keystore.keyring.newest()
    metrics.keys.labels("sealing").set(1 if newest else 0)
    metrics.keys.labels("total").set(len(keys))
    metrics.key_load_errors.set(len(keystore.load_errors))
    if newest and newest.created:
        metrics.newest_key_created.set(newest.created.timestamp())


def report_removed_key(reporter: Reporter, metrics: Metrics, pair: KeyPair, namespace: str) -> None:
    """A loaded key's Secret is gone: a metric, a warning and an Event on that Secret."""
    metrics.keys_removed.inc()
    name = pair.name.rpartition("/")[2] or "unknown"
    message = (
        f"sealing key {pair.fingerprint} ({pair.name}) was removed: values sealed only for it "
        "cannot be unsealed until it is restored from a backup; no Secret was deleted"
    )
    log.warning(message)
    secret: SecretBody = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
    }
    reporter.event(secret, kind="Warning", reason=EventReason.SEALING_KEY_REMOVED, message=message)
