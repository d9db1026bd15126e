"""The Vault reference grammar, shared by VaultSecret specs (controller) and `seal render`.

Pure code: parsing never talks to a server. Two spellings name the same secrets:

``logical`` (ours, VaultSecret ``ref`` and ``<vault:…>`` placeholders)
    ``<mount>/<path>[#<field>[#<version>]]`` or ``<mount>/<path>##<version>``, e.g.
    ``secret/app/db#password#3``. The path is the one ``vault kv get`` takes: no ``/data/``.
    Which leading segments form the mount is decided against the server's mount table
    (:func:`split_mount`), because a mount can span several segments (``team/kv``).

``api`` (argocd-vault-plugin's ``<path:…>`` placeholders)
    The HTTP API path: ``secret/data/app#key[#version]`` for KV v2; it is normalised to the
    logical path ``secret/app`` and remembers that ``secret`` is a KV v2 mount. A path without a
    ``data`` segment is read as a KV v1 API path, which equals its logical path.

Without a field the reference names the whole secret (``dataFrom``). Every failure is an
:class:`InvalidReference` whose one-line message says what is wrong and at which character.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NoReturn

from sealer.vault.errors import InvalidReference

__all__ = [
    "VAULT_RESERVED",
    "RefSyntax",
    "SecretLocation",
    "VaultRef",
    "first_segment_mount",
    "parse_ref",
    "split_mount",
]

RefSyntax = Literal["logical", "api"]

#: First path segments Vault keeps for itself (no secrets engine may be mounted there): a
#: reference never reads them, whatever the connection's KV version.
VAULT_RESERVED = frozenset({"audit", "auth", "cubbyhole", "identity", "sys"})
# KV v2 versions start at 1; 18 digits keep them inside a signed 64-bit integer on the server.
_VERSION = re.compile(r"[1-9][0-9]{0,17}")
_MAX_SHOWN = 120


@dataclass(frozen=True)
class SecretLocation:
    """One readable secret: what a resolver reads and what callers deduplicate reads on.

    ``path`` is the full logical path with the mount (``secret/app/db``). ``mount`` and
    ``kv_version`` are set only when the spelling fixed them (API-path form); otherwise the
    resolver finds them on the server or in the connection's pinned version.
    """

    path: str
    version: int | None = None
    mount: str | None = None
    kv_version: Literal[1, 2] | None = None

    def __str__(self) -> str:
        return self.path if self.version is None else f"{self.path}#{self.version}"


@dataclass(frozen=True)
class VaultRef:
    """A parsed reference: a location and, unless the whole secret is meant, one field."""

    location: SecretLocation
    field: str | None
    text: str = dataclasses.field(compare=False)

    @property
    def path(self) -> str:
        return self.location.path

    @property
    def version(self) -> int | None:
        return self.location.version

    def __str__(self) -> str:
        return self.text


def parse_ref(text: str, *, syntax: RefSyntax = "logical") -> VaultRef:
    """Parse ``text`` in the given spelling; raise :class:`InvalidReference` if it is not one."""
    if not isinstance(text, str):
        raise InvalidReference(f"a Vault reference must be a string, not {type(text).__name__}")
    if not text:
        raise InvalidReference("empty Vault reference: expected <mount>/<path>#<field>")
    if text != text.strip():
        _fail(text, "has leading or trailing whitespace", 0)
    for index, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            _fail(text, f"contains the control character U+{ord(char):04X}", index)

    parts = text.split("#")
    if len(parts) > 3:
        position = len(parts[0]) + len(parts[1]) + len(parts[2]) + 2
        _fail(text, "has more than two '#': expected <path>#<field>[#<version>]", position)
    path = parts[0]
    field_name = parts[1] if len(parts) > 1 else None
    version_text = parts[2] if len(parts) > 2 else None

    _check_path(text, path)
    if field_name == "":
        if version_text is None:
            _fail(text, "has an empty field after '#'", len(path) + 1)
        field_name = None  # "<path>##<version>": the whole secret at a version
    version = None
    if version_text is not None:
        if not _VERSION.fullmatch(version_text):
            position = len(text) - len(version_text)
            _fail(text, f"version {version_text!r} is not a positive integer", position)
        version = int(version_text)

    location = (
        _api_location(text, path, version)
        if syntax == "api"
        else SecretLocation(path=path, version=version)
    )
    return VaultRef(location=location, field=field_name, text=text)


def split_mount(path: str, mounts: Iterable[str]) -> tuple[str, str] | None:
    """Split ``path`` into (mount, path inside the mount) by the longest mount that prefixes it.

    ``mounts`` are mount paths with or without a trailing slash, as the server lists them.
    Returns None when no mount matches. Vault refuses overlapping mounts, so the longest match
    is the only one on a real server.
    """
    best: str | None = None
    for mount in mounts:
        name = mount.strip("/")
        matches = name and (path == name or path.startswith(name + "/"))
        if matches and (best is None or len(name) > len(best)):
            best = name
    if best is None:
        return None
    if path == best:
        raise InvalidReference(f"Vault path {_shown(path)} names the mount itself, not a secret")
    return best, path[len(best) + 1 :]


def first_segment_mount(path: str) -> tuple[str, str]:
    """The split used when nobody asked the server: the first segment is the mount."""
    mount, _, rest = path.partition("/")
    if not rest:
        raise InvalidReference(f"Vault path {_shown(path)} has no secret path after the mount")
    return mount, rest


def _check_path(text: str, path: str) -> None:
    if not path:
        _fail(text, "has no path before '#'", 0)
    if path.startswith("/"):
        _fail(text, "path must not start with '/'", 0)
    if path.endswith("/"):
        _fail(text, "path must not end with '/' (that names a folder, not a secret)", len(path) - 1)
    offset = 0
    segments = path.split("/")
    for segment in segments:
        if segment == "":
            _fail(text, "path has an empty segment ('//')", offset)
        if segment in (".", ".."):
            _fail(text, f"path segment {segment!r} is not allowed", offset)
        offset += len(segment) + 1
    if len(segments) < 2:
        _fail(text, "path needs a mount and a secret path, as in secret/app", 0)
    if segments[0] in VAULT_RESERVED:
        # With a pinned KV version nothing asks the server what the mount is: the path is read
        # as given, and auth/token/lookup-self#id would be the connection's own token.
        _fail(text, f"starts with {segments[0]!r}, Vault's own paths, not a KV mount", 0)


def _api_location(text: str, path: str, version: int | None) -> SecretLocation:
    segments = path.split("/")
    if "data" not in segments[1:]:
        # argocd-vault-plugin reads KV v1 through the API path, which is the logical path.
        return SecretLocation(path=path, version=version, kv_version=1)
    index = segments.index("data", 1)
    if index == len(segments) - 1:
        _fail(text, "API path has no secret path after '/data/'", len(path) - len("data"))
    mount = "/".join(segments[:index])
    logical = "/".join(segments[:index] + segments[index + 1 :])
    return SecretLocation(path=logical, version=version, mount=mount, kv_version=2)


def _shown(text: str) -> str:
    """Quote user text for a one-line message: escapes, and cut if very long."""
    cut = text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…"
    return repr(cut)


def _fail(text: str, what: str, position: int) -> NoReturn:
    raise InvalidReference(f"Vault reference {_shown(text)} {what} (at character {position + 1})")
