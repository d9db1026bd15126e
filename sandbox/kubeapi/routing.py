"""URL -> what a request is about: group, version, namespace, resource, name, subresource.

Paths as in https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris :
``/api/v1/...`` for the core group, ``/apis/G/V/...`` otherwise, then
``[watch/]namespaces/NS/PLURAL[/NAME[/SUB[/rest]]]`` or ``PLURAL[/NAME[/SUB]]``. A namespace's own
subresources (``namespaces/NAME/status``, ``/finalize``) are told apart from resources inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.kubeapi.errors import ApiError

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Target:
    group: str
    version: str
    plural: str
    namespace: str | None  # None: cluster-scoped, or a namespaced resource across namespaces
    name: str | None = None
    subresource: str | None = None
    tail: str = ""  # what follows ``proxy/`` for the service proxy
    legacy_watch: bool = False  # the deprecated /watch/ prefix


def _not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def parse(path: str) -> Target | None:
    """The target of a resource path; None for paths that are not resource paths."""
    segments = path.strip("/").split("/")
    if segments[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", segments[2:]
    elif segments[0] == "apis" and len(segments) >= 3:
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return None
    if not rest or rest == [""]:
        return None
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        raise _not_found()
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    tail = "/".join(rest[3:])
    if sub != "proxy" and len(rest) > 3:
        raise _not_found()
    if name == "":
        name = None
    return Target(group, version, plural, namespace, name, sub, tail, legacy_watch)
