"""One request or one object must not starve the controller: the real process, over HTTP.

Attacks reproduced (issue 10): an 820-byte alias bomb posted eight times at once to /v1/verify
(which exhausted the thread pool and ended in MemoryError); a value of thousands of comma-joined
recipients (99 CPU-seconds a verify, 79 a reconcile); one client draining a bucket every client
shared; /v1/keys listing every SealedSecret in the cluster on every call; /v1/rotate answering
500 for a date or a binary value in JSON. Each is refused (or served) fast, with no RSA work for
what is over the bound, while /healthz keeps answering.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from sealer.keys import load_recipient
from sealer.manifests import PlainSecret
from sealer.sealing import seal_secret
from tests.integration.controller.test_online_seal import expose
from tests.integration.security.conftest import Cluster, Controller, StartController
from tests.unit.test_input_bounds import alias_bomb, few_alias_laughs, merge_key_bomb

OPS = "sealops_private_key_operations_total"
RSS_LIMIT_KB = 250 * 1024


def rss_kb(controller: Controller) -> int:
    status = Path(f"/proc/{controller.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def post(
    controller: Controller,
    path: str,
    body: bytes,
    *,
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """POST from a chosen loopback address (127.0.0.0/8 is all ours): one client each."""
    host, _, port = controller.url.removeprefix("http://").partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(source, 0))
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def sealed(
    controller: Controller, *, recipients: int = 1, values: int = 1, name: str = "db"
) -> dict[str, Any]:
    recipient = load_recipient(controller.get("/v1/cert.pem"))
    data = {f"v{i}": b"bounded-value-%d" % i for i in range(values)}
    doc = seal_secret(PlainSecret(name=name, namespace="prod", data=data), [recipient])
    for key, blob in doc["spec"]["encryptedData"].items():
        doc["spec"]["encryptedData"][key] = ",".join([blob] * recipients)
    doc["metadata"]["annotations"]["sealops.dev/sealed-with"] = ",".join(
        [recipient.fingerprint] * recipients
    )
    return doc


_BOMBS = {
    "nine-list-levels": (alias_bomb(), "the issue's 820-byte bomb"),
    "few-aliases": (few_alias_laughs(), "two aliases a level"),
    "merge-keys": (merge_key_bomb(), "<< copies"),
}


@pytest.mark.parametrize(("bomb", "why"), _BOMBS.values(), ids=_BOMBS.keys())
def test_alias_bombs_posted_concurrently_are_refused_fast(
    start_controller: StartController, bomb: bytes, why: str
) -> None:
    controller = start_controller()
    before = rss_kb(controller)
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        # Eight clients, so no bucket runs dry: the bound, not the rate limit, must refuse them.
        answers = list(
            pool.map(lambda i: post(controller, "/v1/verify", bomb, source=f"127.0.0.{i + 2}"),
                     range(8))
        )  # fmt: skip
        assert controller.get("/healthz") == b"ok\n"
    elapsed = time.monotonic() - start
    assert [code for code, _ in answers] == [413] * 8, (why, answers[0])
    assert all(b"expands to more than" in body for _, body in answers)
    assert elapsed < 30, f"{why}: {elapsed:.1f} s"
    assert controller.get("/healthz") == b"ok\n"
    after = rss_kb(controller)
    assert after < RSS_LIMIT_KB and after - before < 100 * 1024, (before, after)


_WORK = {
    "1000-recipients-verify": ("/v1/verify", {"recipients": 1000}, 422, b"holds 1,000 recipients"),
    "1000-recipients-rotate": ("/v1/rotate", {"recipients": 1000}, 422, b"holds 1,000 recipients"),
    "600-values": ("/v1/verify", {"values": 600}, 422, b"would take 600 private-key operations"),
}


@pytest.mark.parametrize(("path", "shape", "status", "expect"), _WORK.values(), ids=_WORK.keys())
def test_many_recipients_refused_before_rsa_work(
    start_controller: StartController,
    plaintexts: list[bytes],
    path: str,
    shape: dict[str, int],
    status: int,
    expect: bytes,
) -> None:
    controller = start_controller()
    plaintexts.append(b"bounded-value-0")
    doc = sealed(controller, recipients=shape.get("recipients", 1), values=shape.get("values", 1))
    start = time.monotonic()
    code, body = post(controller, path, json.dumps(doc).encode())
    assert (code, expect in body) == (status, True), body[:300]
    assert time.monotonic() - start < 10
    assert controller.metric(OPS) == 0


def test_sealed_secret_with_thousands_of_recipients_is_invalid_spec(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    controller = start_controller()
    plaintexts.append(b"bounded-value-0")
    hostile = sealed(controller, recipients=2500, name="hostile")  # about 0.9 MB
    good = sealed(controller, name="good")
    cluster.apply_sealed(hostile)
    cluster.apply_sealed(good)
    cluster.wait_ready("prod", "good")
    ready = cluster.wait_ready("prod", "hostile", status="False")
    assert ready["reason"] == "InvalidSpec"
    assert "holds 2,500 recipients; at most 16" in ready["message"]
    assert controller.metric(OPS) == 1, "only the good object's one value cost an operation"


def test_one_client_over_its_budget_gets_429_another_is_served(
    start_controller: StartController, plaintexts: list[bytes]
) -> None:
    controller = start_controller("--rate-limit", "0.01")
    plaintexts.append(b"bounded-value-0")
    body = json.dumps(sealed(controller, values=100)).encode()  # 100 tokens a request
    greedy = [post(controller, "/v1/verify", body, source="127.0.0.2")[0] for _ in range(6)]
    assert greedy == [200] * 5 + [429], "512 tokens: five requests of 100, not six"
    ops_after_greedy = controller.metric(OPS)
    assert ops_after_greedy == 500
    assert post(controller, "/v1/verify", body, source="127.0.0.3")[0] == 200
    # Behind a proxy (the API server's service proxy sets X-Forwarded-For): per forwarded client.
    via = [
        post(controller, "/v1/verify", body, source="127.0.0.4",
             headers={"X-Forwarded-For": f"10.0.0.{i}"})[0]
        for i in range(3)
    ]  # fmt: skip
    assert via == [200] * 3
    assert controller.metric("sealops_http_rate_limited_total") == 1


def post_via_proxy(
    cluster: Cluster, path: str, body: bytes, *, source: str
) -> tuple[int, bytes, str | None]:
    """POST through the emulator's service proxy, as `seal` does, from a chosen loopback address.

    The controller then sees every request come from the emulator (127.0.0.1): only the
    X-Forwarded-For the proxy appends (as the API server's does) tells the callers apart.
    """
    proxied = f"/api/v1/namespaces/sealops-system/services/sealops-controller/proxy{path}"
    port = cluster.kubeapi.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        conn.request("POST", proxied, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Retry-After")
    finally:
        conn.close()


def test_two_clients_through_the_service_proxy_have_separate_budgets(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    """Through the API server's proxy every connection comes from one peer; before the proxy
    appended X-Forwarded-For, one user draining the bucket shut every other user out."""
    controller = start_controller("--rate-limit", "0.01")
    expose(cluster, controller)
    plaintexts.append(b"bounded-value-0")
    body = json.dumps(sealed(controller, values=100)).encode()  # 100 tokens a request
    greedy = [post_via_proxy(cluster, "/v1/verify", body, source="127.0.0.2") for _ in range(6)]
    assert [code for code, _, _ in greedy] == [200] * 5 + [429], "five of 100 in 512 tokens"
    assert greedy[-1][2] is not None and int(greedy[-1][2]) >= 1, "Retry-After passed back"
    # Another user behind the same proxy: its own bucket, served.
    other = post_via_proxy(cluster, "/v1/verify", body, source="127.0.0.3")
    assert other[0] == 200, other
    assert controller.metric("sealops_http_rate_limited_total") == 1
    assert controller.metric(OPS) == 600


def test_keys_served_from_a_cache_and_rate_limited(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
) -> None:
    controller = start_controller()
    plaintexts.append(b"bounded-value-0")
    cluster.apply_sealed(sealed(controller))
    cluster.wait_ready("prod", "db")
    time.sleep(2.5)  # past the settling time after a reconcile, when /v1/keys lists afresh
    before = controller.metric("sealops_key_usage_lists_total")
    for _ in range(20):
        answer = json.loads(controller.get("/v1/keys"))
        assert answer["keys"][0]["sealedSecrets"] == 1
    lists = controller.metric("sealops_key_usage_lists_total") - before
    assert lists == 1, "one LIST for 20 requests"


_ROTATE = {
    "date": ({"when": dt.date(2024, 1, 1)}, {"when": "2024-01-01"}),
    "binary": ({"raw": b"\x00\xff"}, {"raw": "AP8="}),
}


@pytest.mark.parametrize(("extra", "expected"), _ROTATE.values(), ids=_ROTATE.keys())
def test_rotate_answers_json_for_dates_and_binary(
    start_controller: StartController,
    plaintexts: list[bytes],
    extra: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    controller = start_controller()
    plaintexts.append(b"bounded-value-0")
    doc = sealed(controller)
    doc["spec"]["template"]["extra"] = extra
    code, body = post(
        controller,
        "/v1/rotate",
        yaml.safe_dump(doc).encode(),
        headers={"Accept": "application/json", "Content-Type": "application/yaml"},
    )
    assert code == 200, body[:300]
    assert json.loads(body)["spec"]["template"]["extra"] == expected
