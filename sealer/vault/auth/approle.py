"""AppRole auth: ``role_id`` and ``secret_id`` posted to ``auth/<mount_path>/login``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sealer.vault.lease import Grant

if TYPE_CHECKING:
    from sealer.vault.auth import LoginApi

__all__ = ["AppRoleAuth"]


@dataclass(frozen=True)
class AppRoleAuth:
    """An AppRole; the secret id is a credential (kept out of ``repr``, scrubbed from answers)."""

    role_id: str
    secret_id: str = field(repr=False)
    mount_path: str = "approle"

    @property
    def method(self) -> str:
        return f"approle at auth/{self.mount_path.strip('/')}"

    @property
    def can_relogin(self) -> bool:
        return True

    def login(self, api: LoginApi) -> Grant:
        body = {"role_id": self.role_id, "secret_id": self.secret_id}
        return api.login(self.mount_path.strip("/"), body, method=self.method)

    def credentials(self) -> tuple[str, ...]:
        return (self.secret_id,)
