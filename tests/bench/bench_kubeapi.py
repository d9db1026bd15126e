"""The Kubernetes API emulator's cost per request stays flat as objects and history grow.

How it is counted: two emulator processes (``python -m tests.kubeapi --port 0``) are started, one
filled with 1,000 Secrets and one with 10,000 (each POSTed over one keep-alive ``http.client``
connection, which also fills the watch history window). The client then times ``GET`` of a
random existing Secret, alternating rounds between the two servers (``interleaved``), so both
see the same machine noise; the ratio of per-request times is the figure judged (target <= 1.2).
The absolute rate is requests per second of that GET loop against the 10,000-object server, one
request in flight, client and server in separate processes (target >= 1,000/s). Merge PATCHes
(writes that publish watch events) are measured the same way and reported. Resident memory is
the server's VmRSS after 10,000 objects.
"""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import sys
from pathlib import Path

from tests.bench.report import Row, interleaved, ratio_row

ROOT = Path(__file__).resolve().parents[2]
BENCH = "kubeapi"
SMALL, LARGE = 1_000, 10_000


class Server:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.kubeapi", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        host_port = line.rsplit("//", 1)[1]
        host, port = host_port.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.names: list[str] = []

    def request(
        self, method: str, path: str, body: object = None, content_type: str = "application/json"
    ) -> int:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        response.read()
        return response.status

    def fill(self, count: int) -> None:
        for i in range(len(self.names), count):
            name = f"secret-{i:05d}"
            secret = {
                "metadata": {"name": name, "labels": {"bench": "yes", "n": str(i % 10)}},
                "stringData": {"password": f"value-{i}"},
            }
            status = self.request("POST", "/api/v1/namespaces/bench/secrets", secret)
            assert status == 201, status
            self.names.append(name)

    def get_one(self) -> None:
        name = random.choice(self.names)
        assert self.request("GET", f"/api/v1/namespaces/bench/secrets/{name}") == 200

    def patch_one(self) -> None:
        name = random.choice(self.names)
        body = {"metadata": {"annotations": {"bench/tick": str(random.random())}}}
        status = self.request(
            "PATCH",
            f"/api/v1/namespaces/bench/secrets/{name}",
            body,
            "application/merge-patch+json",
        )
        assert status == 200

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.conn.close()
        self.process.terminate()
        self.process.wait(timeout=10)


def run() -> list[Row]:
    small, large = Server(), Server()
    try:
        small.fill(SMALL)
        large.fill(LARGE)
        for server in (small, large):  # warm both connections and caches
            for _ in range(200):
                server.get_one()
        get_large, get_small = interleaved(large.get_one, small.get_one, calls=500, rounds=7)
        patch_large, patch_small = interleaved(
            large.patch_one, small.patch_one, calls=300, rounds=5
        )
        rss_large, rss_small = large.rss_mib(), small.rss_mib()
    finally:
        small.stop()
        large.stop()
    rate = 1 / get_large
    return [
        ratio_row(
            BENCH,
            "GET time/request, 10k vs 1k objects",
            get_large / get_small,
            limit=1.2,
            detail=f"{get_small * 1e6:.0f} us vs {get_large * 1e6:.0f} us per GET",
        ),
        Row(
            BENCH,
            "GET requests/s at 10k objects",
            rate,
            "req/s",
            ">= 1000",
            rate >= 1000,
            "one keep-alive http.client connection, one request in flight",
        ),
        Row(
            BENCH,
            "PATCH time/request, 10k vs 1k objects",
            patch_large / patch_small,
            "x",
            detail=f"{1 / patch_large:.0f} req/s at 10k objects (merge patch: a watch event each)",
        ),
        Row(
            BENCH,
            "server RSS after 10k Secrets",
            rss_large,
            "MiB",
            detail=f"{rss_small:.0f} MiB after 1k",
        ),
    ]
