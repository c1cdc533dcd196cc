"""Response headers that hold on every page: the Content Security Policy and a
Permissions-Policy.

Django 5.2 has no CSP of its own. Partage needs no inline script or style anywhere
(templates load static files; data travels in data- attributes), so the policy allows
scripts, styles and connections from this origin only. Two exceptions are deliberate:
images may also come from MEDIA_URL's host when media is served from a separate domain,
and forms may post to Stripe Checkout, which a payment redirects to.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy() -> str:
    media = _origin(settings.MEDIA_URL)
    images = ["'self'", "data:", "blob:"] + ([media] if media else [])
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "font-src": ["'self'"],
        # 'self' covers ws:// and wss:// to this host (CSP level 3).
        "connect-src": ["'self'"],
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
        "form-action": ["'self'", *settings.CSP_FORM_ACTION_EXTRA],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Adds the CSP and Permissions-Policy to every response that has none yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
