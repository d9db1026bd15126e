"""JSON in and out of aiohttp, the way every handler of the emulator reads and answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.kubeapi import protobuf
from sandbox.kubeapi.errors import bad_request


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(obj, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def flag(params: Any, name: str) -> bool:
    """A boolean query parameter as the real server reads it ("true" or "1")."""
    return str(params.get(name, "")).lower() in ("true", "1")


async def read_body(request: web.Request) -> Any:
    """The decoded request body: JSON, or protobuf for the kinds kubectl sends that way."""
    raw = await request.read()
    if not raw:
        return {}
    if request.content_type == protobuf.MEDIA_TYPE:
        return protobuf.decode(raw)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"the body of the request is not valid JSON: {exc}") from exc
