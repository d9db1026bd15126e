"""Online ``seal reencrypt``: /v1/rotate in batches the controller accepts, 429s waited out.

The controller refuses a request of more than 100 SealedSecrets, 4 MiB, or 512 planned
private-key operations, and rate-limits each client (429 with Retry-After). ``sealer.online.rotate``
cuts the input into consecutive batches under those bounds (planning the RSA work with the
controller's own function over the keys it lists) and retries a 429 after its Retry-After, up to
a total wait. The fake controller below applies the controller's real bounds (its reader limits,
its planner, its token bucket) on a fake clock.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from functools import cache
from typing import Any

import pytest

from controller.http import HTTP_LIMITS, TokenBucket
from sealer.api import ANN_SEALED_WITH
from sealer.errors import SealopsError
from sealer.keys import KeyPair
from sealer.manifests import (
    PlainSecret,
    SealedSecretDoc,
    dump_documents,
    load_documents,
    parse_sealed_secret,
)
from sealer.online import (
    ROTATE_MAX_WAIT,
    ControllerError,
    ListedKey,
    listed_keys,
    plan_batches,
    retry_after,
    rotate,
)
from sealer.reader import REQUEST_LIMITS
from sealer.sealing import MAX_PRIVATE_KEY_OPS, WorkBoundError, plan_private_key_ops, seal_secret
from tests.unit.controller.conftest import small_key


@cache
def _template(values: int, recipients: int, size: int) -> dict[str, Any]:
    key = small_key(1)
    data = {f"v{i}": b"x" * size for i in range(values)}
    doc = seal_secret(PlainSecret(name="db", namespace="prod", data=data), [key.recipient])
    for name, blob in doc["spec"]["encryptedData"].items():
        doc["spec"]["encryptedData"][name] = ",".join([blob] * recipients)
    doc["metadata"]["annotations"][ANN_SEALED_WITH] = ",".join([key.fingerprint] * recipients)
    return doc


def docs(
    count: int,
    *,
    values: int = 1,
    recipients: int = 1,
    hint: str | None = "loaded",
    size: int = 8,
) -> list[SealedSecretDoc]:
    """``count`` SealedSecrets named s0, s1, … (the fake never opens them)."""
    out = []
    for i in range(count):
        doc = copy.deepcopy(_template(values, recipients, size))
        doc["metadata"]["name"] = f"s{i}"
        if hint is None:
            doc["metadata"]["annotations"].pop(ANN_SEALED_WITH)
        elif hint == "unloaded":
            doc["metadata"]["annotations"][ANN_SEALED_WITH] = "SHA256:not-loaded"
        out.append(parse_sealed_secret(doc))
    return out


def keys(count: int) -> list[KeyPair]:
    return [small_key(i + 1) for i in range(count)]


class FakeController:
    """/v1/keys and /v1/rotate with the controller's bounds, planner and bucket, on a fake clock.

    A rotated SealedSecret comes back with the annotation ``rotated-in: N`` (the batch)."""

    def __init__(self, loaded: list[KeyPair], *, rate: float = 20.0, burst: float = 512) -> None:
        self.loaded = loaded
        self.now = 0.0
        self.bucket = TokenBucket(rate, burst, clock=lambda: self.now)
        self.calls: list[tuple[str, int]] = []  # (path, SealedSecrets in the body)
        self.slept: list[float] = []
        self.fail_batch: int | None = None
        self.bodies: list[Any] = []
        self.answers: list[bytes] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def _charge(self, cost: float) -> None:
        wait = self.bucket.take(cost)
        if wait:
            raise ControllerError("answered 429: rate limited", status=429,
                                  retry_after=retry_after(str(max(1, round(wait)))))  # fmt: skip

    def __call__(self, method: str, path: str, body: Any = None, *, limit: int) -> bytes:
        if path == "/v1/keys":
            self.calls.append((path, 0))
            self._charge(1)
            listed = [{"fingerprint": k.fingerprint, "sealing": False} for k in self.loaded]
            listed.append({"fingerprint": "SHA256:gone", "missing": True, "sealedSecrets": 1})
            return json.dumps({"keys": listed}).encode()
        assert (method, path) == ("POST", "/v1/rotate")
        self.bodies.append(copy.deepcopy(body))
        raw = json.dumps(body).encode()
        items = load_documents(raw, source="request", limits=HTTP_LIMITS)  # 413 past a bound
        self.calls.append((path, len(items)))
        sealed = [parse_sealed_secret(d, allow_bitnami=False) for d in items]
        try:
            planned = sum(plan_private_key_ops(s, self.loaded) for s in sealed)
        except WorkBoundError as exc:
            raise ControllerError(f"answered 422: {exc}", status=422) from None
        if planned > MAX_PRIVATE_KEY_OPS:
            raise ControllerError(f"answered 422: {planned} operations", status=422)
        if self.fail_batch == len([c for c in self.calls if c[0] == "/v1/rotate"]):
            raise ControllerError("answered 409: no sealing key", status=409)
        self._charge(planned)
        batch = len([c for c in self.calls if c[0] == "/v1/rotate"])
        for doc in items:
            doc["metadata"]["annotations"]["rotated-in"] = str(batch)
        self.answers.append(dump_documents(items, "yaml").encode())
        return self.answers[-1]


BATCHES = [
    pytest.param(docs(1), 1, [1], id="one: one request, as before"),
    pytest.param(docs(100), 1, [100], id="100: still one request"),
    pytest.param(docs(101), 1, [100, 1], id="101: over the 100-object bound"),
    pytest.param(docs(250), 1, [100, 100, 50], id="250: in order, fewest requests"),
    pytest.param(docs(60, values=10), 1, [51, 9], id="10 hinted values each: 510 ops a batch"),
    pytest.param(docs(200, recipients=2, hint=None), 3, [85, 85, 30],
                 id="no hint: 2 recipients x 3 keys = 6 ops each"),
    pytest.param(docs(100, hint="unloaded"), 2, [100], id="hint to an unloaded key: x keys"),
    pytest.param(docs(300, hint="unloaded"), 2, [100, 100, 100], id="unloaded hint, 2 keys"),
    pytest.param(docs(30, values=20, size=12_000), 1, [12, 12, 6],
                 id="big values: the 4 MiB body bound"),
]  # fmt: skip


@pytest.mark.parametrize(("sealed", "nkeys", "sizes"), BATCHES)
def test_batches_fit_the_controllers_bounds(
    sealed: list[SealedSecretDoc], nkeys: int, sizes: list[int]
) -> None:
    batches = plan_batches(sealed, keys(nkeys))
    assert [len(b) for b in batches] == sizes
    assert [d for b in batches for d in b] == sealed, "every one, once, in order"
    controller = FakeController(keys(nkeys), burst=10_000)
    out = rotate(sealed, controller, sleep=controller.sleep)
    assert [c[1] for c in controller.calls if c[0] == "/v1/rotate"] == sizes
    assert [d["metadata"]["name"] for d in out] == [s.name for s in sealed]
    assert controller.slept == []


def test_one_sealed_secret_makes_exactly_the_request_it_made_before() -> None:
    controller = FakeController(keys(1))
    (sealed,) = docs(1)
    out = rotate([sealed], controller, sleep=controller.sleep)
    assert controller.calls == [("/v1/rotate", 1)], "no /v1/keys call for a single object"
    assert controller.bodies == [{"apiVersion": "v1", "kind": "List", "items": [sealed.doc]}]
    assert out == load_documents(controller.answers[0], source="controller")


def test_the_bounds_are_the_controllers() -> None:
    """One definition in sealer: the controller reads request bodies with it."""
    assert HTTP_LIMITS is REQUEST_LIMITS
    assert (REQUEST_LIMITS.max_documents, REQUEST_LIMITS.max_objects) == (100, 100)


def test_a_429_is_waited_out_then_retried() -> None:
    controller = FakeController(keys(1), rate=20.0, burst=512)
    sealed = docs(700)
    out = rotate(sealed, controller, sleep=controller.sleep)
    assert [d["metadata"]["name"] for d in out] == [s.name for s in sealed]
    # 1 token for /v1/keys + 700 for the objects: 189 over the bucket, refilled at 20/s.
    assert controller.slept, "some batch met the rate limit"
    assert 189 / 20 <= sum(controller.slept) <= 189 / 20 + 2 * len(controller.slept)
    rotated = [c for c in controller.calls if c[0] == "/v1/rotate"]
    assert sum(n for _, n in rotated) == 700 + 100 * len(controller.slept), "429s retried whole"


@pytest.mark.parametrize(
    ("rate", "max_wait", "why"),
    [
        pytest.param(0.001, ROTATE_MAX_WAIT, "Retry-After of hours: give up at once"),
        pytest.param(1.0, 5.0, "short waits that add up past the cap"),
    ],
    ids=["one-long-wait", "many-short-waits"],
)
def test_rate_limited_past_the_cap_gives_up_with_one_line(
    rate: float, max_wait: float, why: str
) -> None:
    controller = FakeController(keys(1), rate=rate, burst=512)
    with pytest.raises(ControllerError) as refused:
        rotate(docs(700), controller, sleep=controller.sleep, max_wait=max_wait)
    message = str(refused.value)
    assert len(message.splitlines()) == 1
    assert "rate limited" in message and "nothing was written" in message, why
    assert sum(controller.slept) <= max_wait


def test_an_error_in_a_later_batch_returns_nothing() -> None:
    controller = FakeController(keys(1), burst=10_000)
    controller.fail_batch = 2
    with pytest.raises(SealopsError, match="409"):
        rotate(docs(250), controller, sleep=controller.sleep)
    assert [c[1] for c in controller.calls if c[0] == "/v1/rotate"] == [100, 100]


def test_an_object_over_the_bound_by_itself_goes_alone_and_is_refused() -> None:
    sealed = [*docs(3), *docs(1, recipients=17), *docs(3)]
    batches = plan_batches(sealed, keys(1))
    assert [len(b) for b in batches] == [3, 1, 3]
    controller = FakeController(keys(1))
    with pytest.raises(ControllerError, match="17 recipients"):
        rotate(sealed, controller, sleep=controller.sleep)


def test_listed_keys_leave_out_missing_ones() -> None:
    controller = FakeController(keys(2))
    got = listed_keys(controller("GET", "/v1/keys", limit=4096))
    assert got == [ListedKey(k.fingerprint) for k in keys(2)]


NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("5", 5.0, id="delta-seconds"),
        pytest.param(" 2 ", 2.0, id="with spaces"),
        pytest.param("1.5", 1.5, id="fractional"),
        pytest.param("Tue, 01 Dec 2026 12:00:30 GMT", 30.0, id="HTTP date, 30 s ahead"),
        pytest.param("Tue, 01 Dec 2026 11:00:00 GMT", 0.0, id="HTTP date in the past: now"),
        pytest.param("-3", 0.0, id="negative: now"),
        pytest.param("soon", None, id="garbage: the default wait"),
        pytest.param("inf", None, id="infinite: not a wait"),
        pytest.param("nan", None, id="nan: not a wait"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    got = retry_after(header, now=NOW)
    assert got == seconds or (
        got is not None and seconds is not None and math.isclose(got, seconds)
    )
