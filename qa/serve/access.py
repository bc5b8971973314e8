"""API keys: the admin key guards the document API, optional read keys guard search.

Keys come as `Authorization: Bearer KEY` and are compared in constant time against every
configured key, so timing tells nothing about how much of a key was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from fastapi import Request
from pydantic import SecretStr
from starlette.exceptions import HTTPException

from qa.errors import AccessDeniedError
from qa.settings import ApiKey, Settings

ADMIN_KEY_NAME = "admin"


# The checks are `async` although they never wait: FastAPI runs a plain `def` dependency on its
# thread pool, a round trip per request that cost the event loop a fifth of its time at 128
# clients (py-spy); these only compare headers.
async def require_reader(request: Request) -> None:
    """Search is open unless read keys are set (QA_API_KEYS); the admin key reads too."""
    settings: Settings = request.app.state.settings
    if not settings.api_keys:
        return
    admin = [settings.admin_api_key] if settings.admin_api_key else []
    read_keys = [named.key for named in settings.api_keys]
    if not _matches(_presented(request), [*read_keys, *admin]):
        raise AccessDeniedError("this service needs an API key: send Authorization: Bearer KEY")


async def require_admin(request: Request) -> None:
    """The document API exists only when an admin key is set (QA_ADMIN_API_KEY): else 404."""
    settings: Settings = request.app.state.settings
    if settings.admin_api_key is None:
        raise HTTPException(404, "Not Found")
    if not _matches(_presented(request), [settings.admin_api_key]):
        raise AccessDeniedError(
            "changing documents needs the admin key: send Authorization: Bearer KEY"
        )


def presented_key(request: Request, settings: Settings) -> str | None:
    """The request's key when it is one of the configured keys (read or admin), else None: what
    the rate limiter counts requests against."""
    keys = [named.key for named in _named_keys(settings)]
    key = _presented(request)
    return key if _matches(key, keys) else None


def key_name(request: Request, settings: Settings) -> str | None:
    """The name of the request's key (`admin` for the admin key), what analytics record in
    place of the key; None without a configured key."""
    presented = _presented(request)
    # Every key is compared, as in `_matches`: which one matched takes no less time.
    found = [named.name for named in _named_keys(settings) if _matches(presented, [named.key])]
    return found[0] if found else None


def _named_keys(settings: Settings) -> list[ApiKey]:
    admin = [ApiKey(ADMIN_KEY_NAME, settings.admin_api_key)] if settings.admin_api_key else []
    return [*settings.api_keys, *admin]


def _presented(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _matches(presented: str, keys: Iterable[SecretStr]) -> bool:
    given = presented.encode()
    # Every key is compared (no early exit), each in constant time.
    results = [hmac.compare_digest(given, key.get_secret_value().encode()) for key in keys]
    return bool(presented) and any(results)
