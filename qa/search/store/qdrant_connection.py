"""Connections to Qdrant: one client per location and process, closed at exit.

qdrant-client's local mode lets one client open a folder, so every store of a process that
names the same location shares its client.
"""

from __future__ import annotations

import atexit

from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from qa.errors import IndexUnavailableError

__all__ = ["CONNECTION_ERRORS", "connect", "disconnect", "disconnect_all"]

# What a client raises when the server or the folder cannot be reached.
CONNECTION_ERRORS = (ResponseHandlingException, UnexpectedResponse, RuntimeError, OSError)

_clients: dict[tuple[str, str | None], QdrantClient] = {}


def connect(url: str, api_key: str | None = None) -> QdrantClient:
    """One client per location and process: qdrant-client's local mode lets one client open a
    folder, and one `:memory:` client is the only way two stores of a process share data."""
    key = (url, api_key)
    if key not in _clients:
        try:
            if url.startswith(("http://", "https://")):
                _clients[key] = QdrantClient(url=url, api_key=api_key)
            else:
                _clients[key] = (
                    QdrantClient(location=url) if url == ":memory:" else (QdrantClient(path=url))
                )
        except CONNECTION_ERRORS as error:
            raise IndexUnavailableError(f"cannot open the Qdrant store {url}: {error}") from error
    return _clients[key]


def disconnect(url: str, api_key: str | None = None) -> None:
    """Close the client of a location, releasing a local-mode folder for another process."""
    client = _clients.pop((url, api_key), None)
    if client is not None:
        client.close()


@atexit.register
def disconnect_all() -> None:
    """Close every client of this process; run at exit, while imports still work. Left open, a
    client is closed by its `__del__` during interpreter shutdown, where closing a local-mode
    folder fails (it imports portalocker) with a traceback on stderr."""
    for url, api_key in list(_clients):
        disconnect(url, api_key)
