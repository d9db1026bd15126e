"""Reaching the controller's HTTP endpoints from ``seal``: directly, or through the service proxy.

``--controller-url`` goes straight to the controller with urllib. Otherwise requests go through
the Kubernetes API server's service proxy (``/api/v1/namespaces/NS/services/NAME/proxy/…``) with
the user's kubeconfig and context, as ``kubectl`` users expect; only then is the ``kubernetes``
client imported, through :mod:`sealer.kubeclient`.

Answers are read up to a bound (``limit``, per endpoint, chosen by the caller): a larger answer
is refused after ``limit + 1`` bytes, whichever way it came.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sealer.bounded import Limit, human_size, read_bounded
from sealer.errors import SealopsError

__all__ = ["ControllerError", "ControllerTarget", "request"]

_TIMEOUT = 30.0
_ERROR_BODY = 4096


class ControllerError(SealopsError):
    """The controller answered with an error (``status``), or could not be reached (0)."""

    reason = "ControllerError"

    def __init__(self, message: str, *, where: str | None = None, status: int = 0):
        self.status = status
        super().__init__(message, where=where)


@dataclass(frozen=True)
class ControllerTarget:
    url: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "sealops-system"
    name: str = "sealops-controller"

    def describe(self) -> str:
        return self.url or f"service {self.namespace}/{self.name}"


def request(
    target: ControllerTarget,
    method: str,
    path: str,
    body: Any = None,
    *,
    limit: int = Limit.ANSWER,
) -> bytes:
    """One call to the controller; the body is sent as JSON. Raises on any non-2xx answer.

    At most ``limit`` bytes of the answer are read; a longer one is refused.
    """
    if target.url:
        status, data = _direct(target.url, method, path, body, limit)
    else:
        from sealer.kubeclient import connect  # the kubernetes client loads only here

        api = connect(kubeconfig=target.kubeconfig, context=target.context)
        status, data = api.proxy(
            namespace=target.namespace,
            service=target.name,
            path=path,
            method=method,
            body=body,
            limit=limit,
        )
        if len(data) > limit:
            raise ControllerError(
                f"{method} {path}: the answer is larger than the {human_size(limit)} limit",
                where=target.describe(),
            )
    if not 200 <= status < 300:
        detail = data.decode("utf-8", "replace").strip().splitlines()
        message = detail[0] if detail else ""
        raise ControllerError(
            f"{method} {path} answered {status}: {message}"[:500],
            where=target.describe(),
            status=status,
        )
    return data


def _direct(url: str, method: str, path: str, body: Any, limit: int) -> tuple[int, bytes]:
    full = url.rstrip("/") + "/" + path.lstrip("/")
    if not full.startswith(("http://", "https://")):
        raise ControllerError("only http:// and https:// URLs are supported", where=url)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(full, data=data, method=method)  # noqa: S310
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=_TIMEOUT) as response:  # noqa: S310
            what = f"the answer to {method} {path}"
            return int(response.status), read_bounded(response, limit, what=what, where=url)
    except urllib.error.HTTPError as exc:
        # Only the first line of an error body is shown: read no more than a line's worth.
        return int(exc.code), bytes(exc.read(_ERROR_BODY) or b"")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ControllerError(f"cannot reach the controller: {reason}", where=url) from None
