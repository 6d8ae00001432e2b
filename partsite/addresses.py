"""Which address a request came from: one answer for rate limits, lockouts, sign-in records,
file accesses, the change log and the request log.

The peer's address (REMOTE_ADDR) is the answer, unless the peer is one of TRUSTED_PROXIES.
Then the client is the right-most X-Forwarded-For address that is not itself a trusted proxy:
each proxy appends the address it was reached from, so everything to the left of the last
untrusted hop may have been written by the client. This is nginx's `set_real_ip_from` with
`real_ip_recursive on`. django-ipware was weighed and not used: it picks a position in the
forwarded headers (and falls back to a dozen other headers a client can send) without asking
whether the peer that sent them is a proxy at all, so a client reaching the web process
directly could name any address it liked.
"""

import ipaddress
from functools import lru_cache

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings


def trusted_networks(entries):
    """TRUSTED_PROXIES as networks; a bad entry is a ValueError naming it (settings call this at startup)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_address(request):
    """The client's address as a string, or None when the request has none (a Unix socket)."""
    client = _address(request.META.get("REMOTE_ADDR", ""))
    if client is None:
        return None
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if _is_trusted(client, networks):
        for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            hop = _address(entry)
            if hop is None:
                break  # a proxy appends well-formed addresses; anything else came from the client
            client = hop
            if not _is_trusted(hop, networks):
                break
    return str(client)


@lru_cache(maxsize=4)
def _networks(entries):
    return trusted_networks(entries)


def _address(text):
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    return getattr(address, "ipv4_mapped", None) or address


def _is_trusted(address, networks):
    return any(address in network for network in networks)


class ClientAddressAuditlogMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware, recording the client address above instead of trusting X-Forwarded-For."""

    def get_extra_data(self, request):
        extra = super().get_extra_data(request)
        if not settings.AUDITLOG_DISABLE_REMOTE_ADDR:
            extra["remote_addr"] = client_address(request)
        return extra
