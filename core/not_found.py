"""The site's own "not found" page under DEBUG too.

Without this, `make run` (DEBUG on) answers a missing page with Django's technical
page: unstyled, listing every URL pattern, and its inline styles are refused by the
Content Security Policy, so a newcomer trying the site sees a broken page and console
errors. Production never shows it (DEBUG off: Django renders templates/404.html).
DEBUG_TECHNICAL_404=true brings the technical page back for whoever debugs URLs."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.defaults import page_not_found


def _wanted(request: HttpRequest) -> bool:
    return settings.DEBUG and not getattr(settings, "DEBUG_TECHNICAL_404", False)


class SiteNotFoundMiddleware:
    """Last in MIDDLEWARE, so the page it renders passes every other middleware (CSP,
    security headers, language) like any page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No view ran: the URL matched no pattern and Django answered with its technical
        # page (a view's own 404 page keeps its resolver_match).
        if (response.status_code == 404 and _wanted(request)
                and getattr(request, "resolver_match", None) is None):
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404) and _wanted(request):
            return page_not_found(request, exception)
        return None
