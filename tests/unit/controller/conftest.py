"""Controller unit fixtures: a fake API, a fixed clock, and keys that are fast to make."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pytest

from controller.datahash import DataHasher
from controller.keyring import KeyPolicy, Keyring, KeyStore
from controller.metrics import Metrics
from controller.reporting import Reporter
from controller.sealedsecrets import SealedSecretReconciler
from controller.secretwriter import SecretWriter
from sealer.keys import KeyPair, generate_keypair, load_private_keys
from tests.unit.fakekube import FakeKube

DATA = Path(__file__).parents[2] / "data"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HASH_KEY = b"k" * 32
ORIGIN_KEY = DataHasher(HASH_KEY).derive("key-origin")


class Clock:
    def __init__(self, now: dt.datetime = T0):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@cache
def upstream_key(size: int) -> KeyPair:
    return load_private_keys((DATA / f"key-{size}.pem").read_bytes())[0]


@cache
def small_key(index: int) -> KeyPair:
    """Distinct 2048-bit keys with certificates, created one day apart."""
    return generate_keypair(now=T0 + dt.timedelta(days=index), key_size=2048, name=f"k{index}")


@pytest.fixture
def kube() -> FakeKube:
    return FakeKube()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Harness:
    def __init__(self, kube: FakeKube, clock: Clock):
        self.kube = kube
        self.clock = clock
        self.metrics = Metrics()
        self.keyring = Keyring()
        self.keystore = KeyStore(
            kube=kube,
            keyring=self.keyring,
            clock=clock,
            policy=KeyPolicy(namespace="sealops-system", key_size=2048),
            origin_key=ORIGIN_KEY,
        )
        self.writer = SecretWriter(
            kube=kube, hasher=DataHasher(HASH_KEY), controller_namespace="sealops-system"
        )
        self.reporter = Reporter(kube=kube, clock=clock)
        self.sealed = SealedSecretReconciler(
            keyring=self.keyring,
            keystore=self.keystore,
            writer=self.writer,
            reporter=self.reporter,
            metrics=self.metrics,
        )


@pytest.fixture
def harness(kube: FakeKube, clock: Clock) -> Harness:
    return Harness(kube, clock)
