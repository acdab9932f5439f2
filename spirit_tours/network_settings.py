"""Checks of the settings that say where this server lives on the network: its public URL and
the proxies it trusts. Kept apart from ``config`` as pure functions so each rule is testable on
its own; ``Settings.check_secrets`` turns their answers into refusals."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# A trusted network larger than this, unless private, lets much of the Internet choose its
# own client address (``X-Forwarded-For``): a proxy is one address, a proxy pool a small subnet.
MAX_PUBLIC_PREFIX = {4: 24, 6: 64}
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_url_problem(url: str, *, production: bool) -> str | None:
    """Why ``url`` cannot be where browsers reach this server (None when it can): it goes into
    e-mail links and payment redirects, so it must be an absolute http(s) URL with a host, and
    in production https unless it is this machine (``http://localhost:8080`` of the compose
    stack, behind which a TLS proxy may sit)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "SPIRIT_PUBLIC_URL is not a URL"
    if parts.scheme not in ("http", "https") or not host:
        return "SPIRIT_PUBLIC_URL must be an http:// or https:// URL with a host"
    if parts.query or parts.fragment or parts.username is not None:
        return "SPIRIT_PUBLIC_URL must not carry credentials, a query or a fragment"
    if production and parts.scheme != "https" and not is_loopback_host(host):
        return "SPIRIT_PUBLIC_URL must be https:// in production (unless it is this machine)"
    return None


def forwarded_ips_problem(value: str) -> str | None:
    """Why the trusted proxies ``value`` (uvicorn's ``forwarded_allow_ips``: addresses,
    networks, or ``*``) trust too much (None when they do not). ``*``, ``0.0.0.0/0`` and
    ``::/0`` trust every client; a public network wider than /24 (IPv4) or /64 (IPv6) most of
    a provider's. Private, loopback and link-local networks may be as wide as needed."""
    for entry in (item.strip() for item in value.split(",")):
        if entry == "*":
            return (
                "SPIRIT_FORWARDED_ALLOW_IPS must name the proxy's address: with * any client "
                "chooses its own address (and escapes the per-address login limit)"
            )
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue  # a literal, such as a unix socket path: uvicorn compares it as is
        if network.prefixlen == 0 or (
            not (network.is_private or network.is_loopback or network.is_link_local)
            and network.prefixlen < MAX_PUBLIC_PREFIX[network.version]
        ):
            return (
                f"SPIRIT_FORWARDED_ALLOW_IPS trusts {network}: too wide, it lets clients choose "
                "their own address; name the proxy's address (or its small subnet)"
            )
    return None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> str:
    """``origin`` spelled as browsers send it in the ``Origin`` header (scheme and host in
    lowercase, no default port, no trailing slash), or ValueError when it is not an http(s)
    origin: CORS compares the header with the allowed origins as strings, so
    ``https://App.example.com:443/`` must become ``https://app.example.com`` to ever match."""
    value = origin.strip()
    if value == "*":
        raise ValueError(
            "SPIRIT_CORS_ORIGINS: name each origin; * would let every web page read the API "
            "with its visitors' credentials"
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"SPIRIT_CORS_ORIGINS: {value!r} is not an origin") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"SPIRIT_CORS_ORIGINS: {value!r} is not an http:// or https:// origin")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        raise ValueError(
            f"SPIRIT_CORS_ORIGINS: {value!r} must be only scheme://host[:port], without a path"
        )
    if ":" in host:
        host = f"[{host}]"  # IPv6, as urlsplit took it out of its brackets
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def cors_origin_problem(origin: str, *, production: bool) -> str | None:
    """Why the (normalized) ``origin`` may not call the API from a browser in this environment
    (None when it may): in production a page served over plain http, which anyone on its
    network path can rewrite, is refused unless it is this machine."""
    parts = urlsplit(origin)
    if production and parts.scheme != "https" and not is_loopback_host(parts.hostname or ""):
        return (
            f"SPIRIT_CORS_ORIGINS: {origin} must be https:// in production (unless it is this "
            "machine)"
        )
    return None
