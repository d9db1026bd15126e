"""The service proxy, as the real API server's
(https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls):
``/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH`` goes to an address of the
Service's Endpoints (or EndpointSlice), passing method, query, body, headers and status through;
a Service without endpoints answers 503."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import kubernetes
import pytest

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import call

pytestmark = pytest.mark.integration
k8s: Any = kubernetes  # the client's own annotations are partial; tests use it untyped


class _Echo(BaseHTTPRequestHandler):
    """Answers 207 with what it received, so the test sees what the proxy forwarded."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "body": self.rfile.read(length).decode(),
                "header": self.headers.get("X-Probe", ""),
                "forwarded": self.headers.get_all("X-Forwarded-For") or [],
            }
        ).encode()
        self.send_response(207)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", "echo")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is enough."""


@pytest.fixture
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _service(core: Any, name: str, port_name: str = "http") -> None:
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": name},
            "spec": {"ports": [{"name": port_name, "port": 80, "targetPort": 8080}]},
        },
    )


def test_proxy_through_endpoints(kubeapi: RunningKubeApi, core: Any, backend: int) -> None:
    _service(core, "echo")
    core.create_namespaced_endpoints(
        "default",
        {
            "metadata": {"name": "echo"},
            "subsets": [
                {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": backend}]}
            ],
        },
    )
    for target in ("echo", "echo:http", "http:echo:http", "echo:80"):
        url = f"{kubeapi.url}/api/v1/namespaces/default/services/{target}/proxy/v1/cert.pem?x=1&y=2"
        status, body, headers = call(url, "POST", {"k": "v"}, headers={"X-Probe": "yes"})
        assert status == 207, target
        assert body == {
            "method": "POST",
            "path": "/v1/cert.pem?x=1&y=2",
            "body": '{"k": "v"}',
            "header": "yes",
            "forwarded": ["127.0.0.1"],
        }
        assert headers["X-Backend"] == "echo"
    # The kubernetes client's own proxy call goes the same way.
    answer = core.connect_get_namespaced_service_proxy_with_path(
        "echo:http", "default", "healthz", _preload_content=False
    )
    assert answer.status == 207 and json.loads(answer.data)["path"] == "/healthz"


def test_proxy_through_endpoint_slice(
    kubeapi: RunningKubeApi, core: Any, api_client: Any, backend: int
) -> None:
    _service(core, "sliced", port_name="web")
    k8s.client.DiscoveryV1Api(api_client).create_namespaced_endpoint_slice(
        "default",
        {
            "metadata": {"name": "sliced-abc", "labels": {"kubernetes.io/service-name": "sliced"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
            "ports": [{"name": "web", "port": backend}],
        },
    )
    status, body, _ = call(f"{kubeapi.url}/api/v1/namespaces/default/services/sliced:web/proxy/")
    assert status == 207 and body["path"] == "/"


def test_no_endpoints_is_503(kubeapi: RunningKubeApi, core: Any) -> None:
    _service(core, "lonely")
    status, body, _ = call(f"{kubeapi.url}/api/v1/namespaces/default/services/lonely/proxy/")
    assert status == 503 and body["kind"] == "Status"
    status, body, _ = call(f"{kubeapi.url}/api/v1/namespaces/default/services/missing/proxy/")
    assert status == 404 and body["reason"] == "NotFound"


def _raw(port: int, path: str, headers: list[tuple[str, str]], source: str) -> Any:
    """One GET from ``source`` (a loopback address of our choosing), headers sent as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.putrequest("GET", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 207, response.read()
        return json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("source", "sent", "forwarded"),
    [
        pytest.param("127.0.0.1", [], "127.0.0.1", id="none sent: the caller's address"),
        pytest.param("127.0.0.2", [], "127.0.0.2", id="another source: its own address"),
        pytest.param(
            "127.0.0.1",
            [("X-Forwarded-For", "203.0.113.7")],
            "203.0.113.7, 127.0.0.1",
            id="one sent: the caller's appended after it",
        ),
        pytest.param(
            "127.0.0.3",
            [("X-Forwarded-For", "10.0.0.1"), ("x-forwarded-for", "10.0.0.2, 10.0.0.3")],
            "10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.3",
            id="several headers, any case: joined, then the caller's (as Go's proxy does)",
        ),
    ],
)
def test_proxy_appends_the_callers_address_to_x_forwarded_for(
    kubeapi: RunningKubeApi,
    core: Any,
    backend: int,
    source: str,
    sent: list[tuple[str, str]],
    forwarded: str,
) -> None:
    """What the real API server's proxy does (kubernetes/kubernetes#46126): the backend sees
    who called, whatever the caller wrote itself, as one header."""
    _service(core, "xff")
    core.create_namespaced_endpoints(
        "default",
        {
            "metadata": {"name": "xff"},
            "subsets": [
                {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": backend}]}
            ],
        },
    )
    body = _raw(
        kubeapi.port, "/api/v1/namespaces/default/services/xff/proxy/v1/verify", sent, source
    )
    assert body["forwarded"] == [forwarded]
