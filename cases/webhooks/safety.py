"""Where a webhook may go: https to public addresses, unless the operator allow-lists a host.

A target's host is resolved at every attempt and every address it resolves to is checked,
so a name that later points at the cloud metadata service or the tracker's own network
is refused then too; the connection is then made to the address that was checked, so a
second resolution cannot swap it (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(ValueError):
    """The target URL is not one the tracker may send to; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked target: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def allowed_hosts() -> set[str]:
    """Return the allow-listed hosts, lower-cased."""
    return {host.lower() for host in getattr(settings, "WEBHOOK_ALLOW_HOSTS", [])}


def parse(url: str) -> tuple[str, str, int, str]:
    """Return ``(scheme, host, port, path with query)`` of ``url``, or raise TargetRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"The target URL cannot be read: {exc}.") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise TargetRefused("The target URL must be http(s)://host/path.")
    if parts.username or parts.password:
        raise TargetRefused("The target URL must not hold a user name or password.")
    if scheme != "https" and host not in allowed_hosts():
        raise TargetRefused(
            f"The target must use https; plain http is allowed only for hosts listed in "
            f"DJANGO_WEBHOOK_ALLOW_HOSTS ({host} is not)."
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _refused_address(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return None
    for label, test in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
    ):
        if test:
            return label
    return "non-public"


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The target host {host} does not resolve ({exc}).") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve(url: str, *, resolved: dict | None = None) -> Target:
    """Return the checked target of ``url``: parsed, resolved, every address allowed.

    Raise :class:`TargetRefused` for a URL that is not http(s), plain http to a host not
    allow-listed, a name that does not resolve, or one that resolves to any private,
    loopback, link-local or otherwise non-public address (unless the host is allow-listed).

    ``resolved``, when given, keeps the DNS answers for its lifetime (a worker's batch):
    the name is then looked up once, but every call checks the URL and every address again.
    """
    scheme, host, port, path = parse(url)
    if resolved is None:
        addresses = _addresses(host, port)
    else:
        if (host, port) not in resolved:
            try:
                resolved[(host, port)] = _addresses(host, port)
            except TargetRefused as exc:
                resolved[(host, port)] = exc
        addresses = resolved[(host, port)]
        if isinstance(addresses, TargetRefused):
            raise TargetRefused(str(addresses)) from None
    if not addresses:
        raise TargetRefused(f"The target host {host} does not resolve.")
    if host not in allowed_hosts():
        for address in addresses:
            refused = _refused_address(address)
            if refused:
                raise TargetRefused(
                    f"The target host {host} resolves to {address}, a {refused} address; "
                    "only public addresses may be targets unless DJANGO_WEBHOOK_ALLOW_HOSTS "
                    "names the host."
                )
    return Target(scheme, host, port, path, addresses[0])
