"""The controller's bounds on work: HTTP bodies, RSA work per request and per object, per-client
rate limits, the /v1/keys cache; and the reconciler's refusal of an object over the RSA bound.

The HTTP server runs for real (aiohttp's test server) over the fake API; the clock is a fake, so
rate-limit refills and the cache's TTL are exact.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from controller.http import ClientLimiter, HttpServer
from sealer.api import SEALED_SECRETS
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.unit.controller.conftest import Harness, small_key
from tests.unit.controller.test_sealedsecrets import install_keys
from tests.unit.fakekube import FakeKube
from tests.unit.test_input_bounds import alias_bomb


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sealed_doc(
    *, recipients: int = 1, values: int = 1, name: str = "db", hint: bool = True
) -> dict[str, Any]:
    key = small_key(1)
    secret = PlainSecret(name=name, namespace="prod", data={f"v{i}": b"x" for i in range(values)})
    doc = seal_secret(secret, [key.recipient])
    for field, blob in doc["spec"]["encryptedData"].items():
        doc["spec"]["encryptedData"][field] = ",".join([blob] * recipients)
    annotations = doc["metadata"]["annotations"]
    if hint:
        annotations["sealops.dev/sealed-with"] = ",".join([key.fingerprint] * recipients)
    else:
        del annotations["sealops.dev/sealed-with"]
    return doc


Call = Callable[[TestClient[Any, Any]], Awaitable[Any]]


def serve(harness: Harness, kube: FakeKube, clock: FakeClock, call: Call, **options: Any) -> Any:
    """Run ``call`` against a live HttpServer over the fake API."""
    install_keys(harness, small_key(1))
    server = HttpServer(
        keyring=harness.keyring, kube=kube, metrics=harness.metrics, clock=clock, **options
    )

    async def run() -> Any:
        async with TestClient(TestServer(server.app())) as client:
            return await call(client)

    server_result = asyncio.run(run())
    return server, server_result


def ops(harness: Harness) -> float:
    return float(harness.metrics.private_key_ops._value.get())


@pytest.fixture
def tick() -> FakeClock:
    return FakeClock()


# ---------------------------------------------------------------------------------------------
# Refused before any RSA work

_REFUSED = {
    "alias-bomb": (alias_bomb(), 413, "expands to more than 200,000 nodes", "the issue's bomb"),
    "deep-json": (b'{"a":' * 100 + b"1" + b"}" * 100, 413, "nests deeper than 64", "HTTP limits"),
    "1000-recipients": (
        yaml.safe_dump(sealed_doc(recipients=1000)).encode(), 422, "holds 1,000 recipients",
        "a value of 1,000 comma-joined blobs",
    ),
    "600-values": (
        json.dumps(sealed_doc(values=600)).encode(), 422, "would take 600 private-key operations",
        "one op a value, over the bound",
    ),
    "no-hint-16x40": (
        json.dumps(sealed_doc(recipients=16, values=40, hint=False)).encode(), 422,
        "would take 640", "every recipient with every key",
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/rotate"])
@pytest.mark.parametrize(
    ("body", "status", "expect", "why"), _REFUSED.values(), ids=_REFUSED.keys()
)
def test_refused_before_any_private_key_operation(
    harness: Harness,
    kube: FakeKube,
    tick: FakeClock,
    path: str,
    body: bytes,
    status: int,
    expect: str,
    why: str,
) -> None:
    async def call(client: TestClient[Any, Any]) -> tuple[int, str]:
        response = await client.post(path, data=body)
        return response.status, await response.text()

    _, (code, text) = serve(harness, kube, tick, call)
    assert (code, expect in text) == (status, True), (why, code, text)
    assert text.count("\n") == 1 and "planttest" not in text
    assert ops(harness) == 0, why


def test_rotate_batch_over_the_request_bound(
    harness: Harness, kube: FakeKube, tick: FakeClock
) -> None:
    # Each object is within the per-object bound; together they pass the per-request one.
    docs = [sealed_doc(values=200, name=f"s{i}") for i in range(3)]
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}).encode()

    async def call(client: TestClient[Any, Any]) -> tuple[int, str]:
        response = await client.post("/v1/rotate", data=body)
        return response.status, await response.text()

    _, (code, text) = serve(harness, kube, tick, call)
    assert code == 422 and "at most 512 are allowed per request" in text, text
    assert ops(harness) == 0


def test_verify_within_the_bounds_costs_one_op_a_value(
    harness: Harness, kube: FakeKube, tick: FakeClock
) -> None:
    async def call(client: TestClient[Any, Any]) -> tuple[int, str]:
        response = await client.post("/v1/verify", data=json.dumps(sealed_doc(values=3)))
        return response.status, await response.text()

    _, (code, text) = serve(harness, kube, tick, call)
    assert (code, text) == (200, "OK\n")
    assert ops(harness) == 3


# ---------------------------------------------------------------------------------------------
# Rate limits: per client, counted in private-key operations


def test_one_client_over_its_budget_does_not_starve_another(
    harness: Harness, kube: FakeKube, tick: FakeClock
) -> None:
    body = json.dumps(sealed_doc(values=10))

    async def call(client: TestClient[Any, Any]) -> dict[str, list[int]]:
        codes: dict[str, list[int]] = {"greedy": [], "other": []}
        for _ in range(4):  # 10 tokens each; the bucket holds 30 (10 a second, clock stopped)
            r = await client.post("/v1/verify", data=body, headers={"X-Forwarded-For": "10.0.0.1"})
            codes["greedy"].append(r.status)
        r = await client.post("/v1/verify", data=body, headers={"X-Forwarded-For": "10.0.0.2"})
        codes["other"].append(r.status)
        tick.now += 1.0  # 10 tokens back for the greedy one
        r = await client.post("/v1/verify", data=body, headers={"X-Forwarded-For": "10.0.0.1"})
        codes["greedy"].append(r.status)
        return codes

    _, codes = serve(harness, kube, tick, call, rate=10.0, burst=30, max_ops=30)
    assert codes == {"greedy": [200, 200, 200, 429, 200], "other": [200]}
    assert ops(harness) == 50  # the refused request did no RSA work
    rate_limited = harness.metrics.http_rate_limited.labels("/v1/verify")._value.get()
    assert rate_limited == 1


_LIMITER = {
    "direct-clients-apart": (
        [("10.1.1.1", None), ("10.1.1.2", None)], [0, 0], "two peers, two buckets"
    ),
    "same-client-twice": ([("10.1.1.1", None), ("10.1.1.1", None)], [0, 1], "one bucket"),
    "behind-a-proxy-apart": (
        [("10.9.9.9", "1.1.1.1"), ("10.9.9.9", "1.1.1.2")], [0, 0],
        "the API server's service proxy: users told apart by X-Forwarded-For",
    ),
    "forged-forwarded-for": (
        [("10.1.1.1", f"6.6.6.{i}") for i in range(4)], [0, 0, 1, 1],
        "fresh X-Forwarded-For values share the peer's proxy share (2 clients' worth)",
    ),
    "forwarded-and-direct": (
        [("10.1.1.1", "6.6.6.6"), ("10.1.1.1", None)], [0, 0],
        "a peer's own bucket is apart from what it forwards",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("calls", "refused", "why"), _LIMITER.values(), ids=_LIMITER.keys())
def test_who_counts_as_a_client(
    calls: list[tuple[str, str | None]], refused: list[int], why: str
) -> None:
    clock = FakeClock()
    limiter = ClientLimiter(rate=1.0, burst=10, proxy_share=2, clock=clock)
    waits = [limiter.take(remote, forwarded, 10) for remote, forwarded in calls]
    assert [1 if w else 0 for w in waits] == refused, why


def test_the_client_table_is_bounded() -> None:
    limiter = ClientLimiter(rate=1.0, burst=10, max_clients=100, clock=FakeClock())
    for i in range(10_000):
        limiter.take(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", None, 1)
    assert len(limiter) == 100


def test_a_request_never_costs_more_than_the_bucket_holds() -> None:
    server = HttpServer(keyring=None, kube=None, metrics=None, burst=5, max_ops=512)  # type: ignore[arg-type]
    assert server.limiter.burst == 512  # else a request of 512 ops could never be served


# ---------------------------------------------------------------------------------------------
# /v1/keys: cached, rate-limited


def test_keys_served_from_a_cache(harness: Harness, kube: FakeKube, tick: FakeClock) -> None:
    kube.put(SEALED_SECRETS, sealed_doc())

    async def call(client: TestClient[Any, Any]) -> list[int]:
        counts = []
        for step in range(25):
            if step == 20:
                tick.now += 31  # past the TTL: one more LIST
            response = await client.get("/v1/keys")
            assert response.status == 200
            body = await response.json()
            counts.append(body["keys"][0]["sealedSecrets"])
        return counts

    _, counts = serve(harness, kube, tick, call, keys_ttl=30.0)
    assert counts == [1] * 25
    assert harness.metrics.key_usage_lists._value.get() == 2


def test_keys_rate_limited(harness: Harness, kube: FakeKube, tick: FakeClock) -> None:
    async def call(client: TestClient[Any, Any]) -> list[int]:
        return [(await client.get("/v1/keys")).status for _ in range(6)]

    _, codes = serve(harness, kube, tick, call, rate=1.0, burst=5, max_ops=5)
    assert codes == [200] * 5 + [429]


# ---------------------------------------------------------------------------------------------
# /v1/rotate answering JSON for YAML-only types

_ROTATE_JSON = {
    "date": ({"when": dt.date(2024, 1, 1)}, {"when": "2024-01-01"}, "a YAML timestamp"),
    "datetime": (
        {"when": dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)},
        {"when": "2024-01-01 10:00:00+00:00"},
        "a plain YAML timestamp with a time: a string, as Go's yaml.v2 reads it",
    ),
    "binary": ({"raw": b"\x00\xff"}, {"raw": base64.b64encode(b"\x00\xff").decode()}, "!!binary"),
}


@pytest.mark.parametrize(
    ("extra", "expected", "why"), _ROTATE_JSON.values(), ids=_ROTATE_JSON.keys()
)
def test_rotate_json_with_yaml_only_types(
    harness: Harness,
    kube: FakeKube,
    tick: FakeClock,
    extra: dict[str, Any],
    expected: dict[str, Any],
    why: str,
) -> None:
    doc = sealed_doc()
    doc["spec"]["template"]["extra"] = extra
    body = yaml.safe_dump(doc)

    async def call(client: TestClient[Any, Any]) -> tuple[int, str]:
        response = await client.post(
            "/v1/rotate", data=body, headers={"Accept": "application/json"}
        )
        return response.status, await response.text()

    _, (code, text) = serve(harness, kube, tick, call)
    assert code == 200, (why, text)
    assert json.loads(text)["spec"]["template"]["extra"] == expected


# ---------------------------------------------------------------------------------------------
# The reconciler


_OBJECTS = {
    "5000-recipients": (sealed_doc(recipients=5000), "holds 5,000 recipients", "the issue's 1 MB"),
    "600-values": (sealed_doc(values=600), "would take 600 private-key operations", "per object"),
}


@pytest.mark.parametrize(("doc", "expect", "why"), _OBJECTS.values(), ids=_OBJECTS.keys())
def test_reconcile_over_the_rsa_bound_is_invalid_spec_with_no_rsa_work(
    harness: Harness, kube: FakeKube, doc: dict[str, Any], expect: str, why: str
) -> None:
    install_keys(harness, small_key(1))
    body = kube.put(SEALED_SECRETS, doc)
    verdict = harness.sealed.reconcile(body).verdict
    assert (verdict.ready, verdict.reason) == (False, "InvalidSpec"), why
    assert expect in verdict.message and "spec.encryptedData" in verdict.message
    assert verdict.retry_after is None, "only an edit can change the answer"
    assert ops(harness) == 0


def test_keys_list_again_once_a_reconcile_has_settled(
    harness: Harness, kube: FakeKube, tick: FakeClock
) -> None:
    """After a reconcile, /v1/keys lists again (its status lands just after), once a second."""
    install_keys(harness, small_key(1))
    server = HttpServer(keyring=harness.keyring, kube=kube, metrics=harness.metrics, clock=tick)

    def lists() -> float:
        return float(harness.metrics.key_usage_lists._value.get())

    assert server.key_usage() == {} and lists() == 1
    kube.put(SEALED_SECRETS, sealed_doc())
    server.usage_changed()
    steps = [(0.0, 1, 0), (1.5, 2, 1), (0.5, 2, 1), (1.0, 3, 1), (10.0, 3, 1), (30.0, 4, 1)]
    for advance, expected_lists, counted in steps:
        tick.now += advance
        usage = server.key_usage()
        assert (lists(), usage[small_key(1).fingerprint]) == (expected_lists, counted), advance
