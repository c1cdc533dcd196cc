"""Which pages may open a websocket here: the same check Django's CSRF middleware makes
of a POST's Origin, applied to the websocket handshake.

A browser sends the page's origin (scheme, host and port) with every handshake and a
cookie with it, so a page elsewhere could otherwise talk to the chat as the visitor.
Channels' AllowedHostsOriginValidator compares the host name only: a page on
`https://localhost:9999` passed for a site on `http://localhost:8000`. Here the whole
origin must be one of the site's own:

- the origin the socket itself was opened on: its Host header (which must be one of
  ALLOWED_HOSTS, as for any request) with the scheme the browser used: `wss` is
  https, `ws` is http; behind the reverse proxy (BEHIND_PROXY) the proxy's
  X-Forwarded-Proto says which, as SECURE_PROXY_SSL_HEADER does for pages. Live
  servers on random ports and nginx on any port work without configuration (nginx
  passes the Host header as the browser sent it, port included);
- CSRF_TRUSTED_ORIGINS (`https://*.example.com` matches its subdomains, as Django's);
- SITE_URL, where the links in emails send members.

A handshake without an Origin header is refused: every browser sends one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) origin, with the default port filled in and
    the host in lower case; None for anything else (a path, "null", another scheme)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, a broken IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def socket_origin(scope: dict) -> tuple[str, str, int] | None:
    """The origin the socket was opened on, if its Host is one of ALLOWED_HOSTS."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    secure = scope.get("scheme") == "wss"
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        # As Django reads it for pages: believed because the proxy sets it (nginx
        # replaces whatever the client sent) and the workers listen on loopback only.
        name, secure_value = proxy_header
        forwarded = _header(scope, name.removeprefix("HTTP_").replace("_", "-").lower().encode())
        if forwarded is not None:
            secure = forwarded.split(",")[0].strip() == secure_value
    return normalise_origin(f"{'https' if secure else 'http'}://{host}")


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]  # what Django allows then
    return hosts


def _trusted_match(origin: tuple[str, str, int], trusted: str) -> bool:
    scheme, _sep, rest = trusted.partition("://")
    if rest.startswith("*."):
        # Django's wildcard: any subdomain (and the domain itself), same scheme and port.
        pattern = normalise_origin(f"{scheme}://{rest[2:]}")
        return bool(pattern and origin[0] == pattern[0] and origin[2] == pattern[2]
                    and is_same_domain(origin[1], "." + pattern[1]))
    return normalise_origin(trusted) == origin


def origin_allowed(scope: dict) -> bool:
    """Whether the handshake's Origin is one of the site's own (see the module's doc)."""
    value = _header(scope, b"origin")
    origin = normalise_origin(value) if value else None
    if origin is None:
        return False
    if origin == socket_origin(scope):
        return True
    if normalise_origin(settings.SITE_URL) == origin:
        return True
    return any(_trusted_match(origin, trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS)


class SiteOriginValidator:
    """ASGI middleware for websockets: the handshake goes on only from the site's own
    origins; any other is refused (closed before it is accepted, HTTP 403)."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SiteOriginValidator guards websocket connections only")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
