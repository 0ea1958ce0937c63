"""Who a request comes from, for the per-client limits.

Behind a reverse proxy every connection comes from the proxy, so its clients would all
share one limit. `X-Forwarded-For` names the client, but anyone can send that header:
it is believed only from the addresses in `server.trusted_proxies`, read from the right
(the hop nearest to us) past every trusted proxy to the first address that is not one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TrustedProxies:
    """The configured proxies, and the client address of a request through them."""

    def __init__(self, networks: Iterable[str]) -> None:
        self._networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def trusts(self, address: str) -> bool:
        """Whether `address` is one of the trusted proxies."""
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self._networks)

    def client(self, request: web.Request) -> str:
        """The client's address: the socket's, or the nearest untrusted address that a
        chain of trusted proxies reports in X-Forwarded-For."""
        address = request.remote or ""
        if not self._networks or not self.trusts(address):
            return address
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", ()))
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            if _ip(hop) is None:
                break  # a malformed hop: the last trusted proxy is all we know
            address = hop
            if not self.trusts(hop):
                break
        return address


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


PROXIES = web.AppKey("trusted_proxies", TrustedProxies)


def client_address(request: web.Request) -> str:
    """The address per-client limits count a request under."""
    return request.config_dict[PROXIES].client(request)
