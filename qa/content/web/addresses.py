"""Which addresses a fetch may connect to. The check is made where the connection is opened,
on the addresses it opens it to, so that a name resolved once for the check and again for the
connection (DNS rebinding) cannot slip a private address through."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore


class PrivateAddressError(Exception):
    """A host that resolves to a private, loopback, link-local or reserved address."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")


def is_public(address: str) -> bool:
    """A global unicast address; an IPv4 one inside IPv6 (::ffff:10.0.0.1) judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone (fe80::1%eth0) dropped
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous network backend, resolving each host itself: every address it
    resolves to must be public unless `allow_private`, and the connection goes to one of those
    very addresses."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port)
        for address in addresses:
            if not self.allow_private and not is_public(address):
                raise PrivateAddressError(host, address)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectTimeout:
                raise
            except httpcore.ConnectError as error:  # the next address may answer
                failure = error
        raise failure

    def _resolve(self, host: str, port: int) -> list[str]:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        return list(dict.fromkeys(str(info[4][0]) for info in found))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
