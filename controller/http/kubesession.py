"""kopf's own HTTP session to the Kubernetes API, naming this replica in every request.

kopf talks to the API through one aiohttp session per login (its watches, the peering
keep-alive, and the status PATCHes that carry our status). Built by kopf, that session says
``User-Agent: kopf/<version>`` and sends no ``fieldManager``: the API server's audit log and
``managedFields``, and the emulator's write record, could not tell kopf's writes from one
replica apart from the other's. The login handler (:mod:`controller.operator`) instead hands
kopf the session made here from kopf's own credentials (``kopf.login_via_client``): the same
headers, TLS context, proxy and ``trust_env`` as kopf's, plus our ``User-Agent``, and a client
middleware (aiohttp's hook for every request of a session) that adds ``fieldManager`` to each
POST, PUT and PATCH that has none. kopf owns the session once given: it closes it when the
credentials are invalidated (a 401: it logs in again, and gets a new one) and at exit.

The session lives here because aiohttp is imported only under :mod:`controller.http` (the
import contracts), and kopf only in :mod:`controller.operator`: the operator passes plain values.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import aiohttp

__all__ = ["kube_session"]

_WRITES = frozenset({"POST", "PUT", "PATCH"})


def kube_session(
    *,
    headers: Mapping[str, str],
    ssl_context: ssl.SSLContext | None,
    user_agent: str,
    field_manager: str,
    proxy: str | None = None,
    trust_env: bool = False,
) -> aiohttp.ClientSession:
    """An API session as kopf builds one (``kopf._cogs.clients.auth.APIContext``), naming us.

    Call it in the running event loop (kopf's), as aiohttp wants.
    """

    async def name_the_writer(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        if request.method in _WRITES and "fieldManager" not in request.url.query:
            request.url = request.url.update_query(fieldManager=field_manager)
        return await handler(request)

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ssl=ssl_context if ssl_context else True),
        headers={**headers, "User-Agent": user_agent},
        proxy=proxy,
        trust_env=trust_env,
        middlewares=(name_the_writer,),
    )
