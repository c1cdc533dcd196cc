"""What Django believes about a request that came through the reverse proxy.

nginx (deploy/nginx.conf.template) sets X-Forwarded-For to the address it saw,
replacing whatever the client sent. That header is believed only from a peer listed in
settings.TRUSTED_PROXIES: a client that reaches a worker directly cannot choose the
address its per-IP limits (allauth's, core.ratelimit's) count against.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _


def _clean_ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:1234"
        value = value[1:value.index("]")]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(meta: dict, trusted: list[str]) -> str:
    """The client's address: REMOTE_ADDR, or, when REMOTE_ADDR is a trusted proxy, the
    last address of X-Forwarded-For that is not itself a trusted proxy (the one the
    outermost trusted proxy saw; addresses left of it are the client's own claims)."""
    remote = meta.get("REMOTE_ADDR", "")
    trusted_set = {ip for ip in (_clean_ip(item) for item in trusted) if ip}
    if _clean_ip(remote) not in trusted_set:
        return remote
    for item in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        ip = _clean_ip(item)
        if ip is None:
            break  # garbage from here on: keep the last address we could trust
        if ip not in trusted_set:
            return ip
    return remote


class ProxyMiddleware:
    """Sets REMOTE_ADDR to the real client (see client_ip) and refuses with 413 a body
    declared larger than settings.REQUEST_MAX_BYTES before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.TRUSTED_PROXIES:
            request.META["REMOTE_ADDR"] = client_ip(request.META, settings.TRUSTED_PROXIES)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            # Plain text: no template, no session, no database for a refused body.
            return HttpResponse(
                _("Request body too large.") + "\n", status=413, content_type="text/plain"
            )
        return self.get_response(request)
