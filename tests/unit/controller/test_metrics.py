"""Metrics exported from counts kept elsewhere: the Vault request counter."""

from __future__ import annotations

from prometheus_client import generate_latest

from controller.metrics import Metrics
from sealer.vault import RequestCounter


def test_vault_requests_follow_the_shared_counter() -> None:
    metrics, counter = Metrics(), RequestCounter()
    metrics.export_vault_requests(counter.snapshot)
    counter.add("read")
    counter.add("read")
    counter.add("login")
    lines = generate_latest(metrics.registry).decode().splitlines()
    assert 'sealops_vault_requests_total{kind="read"} 2.0' in lines
    assert 'sealops_vault_requests_total{kind="login"} 1.0' in lines
    assert 'sealops_vault_requests_total{kind="renew"} 0.0' in lines  # every kind, even unused
