"""Raw HTTP to the emulator, for what the ``kubernetes`` client cannot express (watch lines,
bodies without apiVersion/kind, the /_emulator paths)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(
    url: str,
    method: str = "GET",
    body: Any = None,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, Any, dict[str, str]]:
    """(status, decoded JSON body or text, headers) of one request; HTTP errors are returned."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), dict(exc.headers)
    try:
        return status, json.loads(raw), got
    except ValueError:
        return status, raw.decode(), got


def watch_lines(
    url: str, *, count: int | None = None, timeout: float = 10
) -> tuple[str, list[dict[str, Any]]]:
    """Content-Type and decoded events of a watch, until ``count`` events or the server ends it."""
    events: list[dict[str, Any]] = []
    with urllib.request.urlopen(url, timeout=timeout) as response:
        content_type = response.headers["Content-Type"]
        for line in response:
            if line.strip():
                events.append(json.loads(line))
            if count is not None and len(events) >= count:
                break
    return content_type, events
