"""Which addresses a fetch may connect to (`qa.content.web.addresses`), checked where the connection
opens, on every address the name resolves to."""

from __future__ import annotations

import socket

import httpcore
import pytest

from qa.content.web.addresses import GuardedBackend, PrivateAddressError, is_public

NOT_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # the cloud metadata service
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1%eth0",
    "fc00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "ff02::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_loopback_link_local_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(address)


def resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    """news.example resolves to `addresses`; any other name as it does."""
    real = socket.getaddrinfo

    def fake(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        if host != "news.example":
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving_to(monkeypatch, "93.184.216.34", "10.0.0.5")
    with pytest.raises(PrivateAddressError, match=r"news\.example resolves to 10\.0\.0\.5"):
        GuardedBackend(allow_private=False).connect_tcp("news.example", 80, timeout=1)


def test_allowed_the_connection_goes_to_the_address_resolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        resolving_to(monkeypatch, "127.0.0.1")
        stream = GuardedBackend(allow_private=True).connect_tcp(
            "news.example", listener.getsockname()[1], timeout=1
        )
        stream.close()


def test_an_unknown_name_is_a_connect_error() -> None:
    with pytest.raises(httpcore.ConnectError):
        GuardedBackend(allow_private=False).connect_tcp("nowhere.invalid", 80, timeout=1)
