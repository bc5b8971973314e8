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
from qa.settings import Settings


def require_reader(request: Request) -> None:
    """Search is open unless read keys are set (QA_API_KEYS); the admin key reads too."""
    settings: Settings = request.app.state.settings
    if not settings.api_keys:
        return
    admin = [settings.admin_api_key] if settings.admin_api_key else []
    if not _matches(_presented(request), [*settings.api_keys, *admin]):
        raise AccessDeniedError("this service needs an API key: send Authorization: Bearer KEY")


def require_admin(request: Request) -> None:
    """The document API exists only when an admin key is set (QA_ADMIN_API_KEY): else 404."""
    settings: Settings = request.app.state.settings
    if settings.admin_api_key is None:
        raise HTTPException(404, "Not Found")
    if not _matches(_presented(request), [settings.admin_api_key]):
        raise AccessDeniedError(
            "changing documents needs the admin key: send Authorization: Bearer KEY"
        )


def _presented(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _matches(presented: str, keys: Iterable[SecretStr]) -> bool:
    given = presented.encode()
    # Every key is compared (no early exit), each in constant time.
    results = [hmac.compare_digest(given, key.get_secret_value().encode()) for key in keys]
    return bool(presented) and any(results)
