"""The functions a template may call: Go's builtins and the Sprig functions we render.

Bitnami's controller offers ``sprig.GenericFuncMap()`` minus ``env``, ``expandenv`` and
``getHostByName``; those three are refused as not allowed. Sprig's functions whose result changes
at every render (time, randomness, key and certificate generation, salted hashes) are refused: a
Secret rendered from them would change at each reconcile. Any other name is refused as not
supported (Go itself rejects names it does not know while parsing).
"""

from __future__ import annotations

from sealer.gotemplate.builtins import BUILTINS
from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.functions import GoFunc
from sealer.gotemplate.sprig_data import DATA
from sealer.gotemplate.sprig_text import STRINGS

__all__ = ["FUNCS", "check_function"]

FUNCS: dict[str, GoFunc] = {**STRINGS, **DATA, **BUILTINS}
_LOGIC = frozenset({"and", "or"})  # evaluated by the executor

NOT_ALLOWED = frozenset({"env", "expandenv", "getHostByName"})
CHANGING = frozenset(
    {
        "now", "date", "dateInZone", "date_in_zone", "dateModify", "date_modify", "ago",
        "duration", "durationRound", "htmlDate", "htmlDateInZone", "toDate", "mustToDate",
        "mustDateModify", "unixEpoch", "randAlphaNum", "randAlpha", "randAscii", "randNumeric",
        "randBytes", "randInt", "uuidv4", "genPrivateKey", "genCA", "genCAWithKey",
        "genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey",
        "encryptAES", "bcrypt", "htpasswd", "shuffle",
    }
)  # fmt: skip


def check_function(name: str) -> None:
    """Raise unless ``name`` is a function this engine renders."""
    if name in FUNCS or name in _LOGIC:
        return
    if name in NOT_ALLOWED:
        raise GoTemplateFailure(f'function "{name}" is not allowed')
    if name in CHANGING:
        raise GoTemplateFailure(
            f'function "{name}" is not supported: its result changes at every render'
        )
    raise GoTemplateFailure(f'function "{name}" is not supported')
