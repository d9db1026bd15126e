"""Kubernetes auth: a ServiceAccount JWT and a role posted to ``auth/<mount_path>/login``.

The JWT is taken afresh at every login, from ``jwt_file`` (projected tokens rotate on disk; the
renderer in a pod) or from ``jwt_source`` (the controller: a TokenRequest for the tenant's
ServiceAccount). Nothing is sent to Vault when no JWT can be had.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sealer.errors import SealopsError
from sealer.vault.errors import LoginFailed, VaultConfigError
from sealer.vault.lease import Grant

if TYPE_CHECKING:
    from sealer.vault.auth import LoginApi

__all__ = ["JwtSource", "KubernetesAuth"]

#: Returns a fresh Kubernetes ServiceAccount JWT; called at every login. The controller backs
#: it with a TokenRequest for the tenant's ServiceAccount. A SealopsError it raises passes
#: through unchanged (so it can say whether to retry); any other exception becomes LoginFailed.
JwtSource = Callable[[], str]


@dataclass(frozen=True)
class KubernetesAuth:
    """Kubernetes auth: the JWT comes from ``jwt_file`` (read at each login) or ``jwt_source``."""

    role: str
    mount_path: str = "kubernetes"
    jwt_file: Path | None = None
    jwt_source: JwtSource | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.jwt_file is None) == (self.jwt_source is None):
            raise VaultConfigError(
                "Kubernetes auth needs exactly one of a JWT file or a JWT source"
            )

    @property
    def method(self) -> str:
        return f"kubernetes role {self.role!r} at auth/{self.mount_path.strip('/')}"

    @property
    def can_relogin(self) -> bool:
        return True

    def login(self, api: LoginApi) -> Grant:
        body = {"role": self.role, "jwt": self._jwt()}
        return api.login(self.mount_path.strip("/"), body, method=self.method)

    def credentials(self) -> tuple[str, ...]:
        return ()  # the JWT lives only for one login and is never kept

    def _jwt(self) -> str:
        if self.jwt_source is not None:
            where = f"for Vault role {self.role!r}"
            try:
                jwt = self.jwt_source()
            except SealopsError:
                raise  # the source chose its error, and whether it is worth retrying
            except Exception as exc:
                raise LoginFailed(
                    f"cannot get a Kubernetes service account token {where}: {type(exc).__name__}"
                ) from exc
        else:
            where = repr(str(self.jwt_file))
            try:
                # Read at every login: projected ServiceAccount tokens are rotated on disk.
                jwt = Path(str(self.jwt_file)).read_text(encoding="utf-8")
            except OSError as exc:
                raise LoginFailed(
                    f"cannot read the Kubernetes service account token {where}: "
                    f"{exc.strerror or type(exc).__name__}"
                ) from exc
        if not jwt.strip():
            raise LoginFailed(f"the Kubernetes service account token {where} is empty")
        return jwt.strip()
