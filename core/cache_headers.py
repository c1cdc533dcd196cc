"""Public pages that a shared cache (nginx, a CDN) may keep for anonymous visitors.

`@shared_cache_when_anonymous` marks a view's response `public, max-age=N` only when
nothing in it belongs to one visitor, and `private, no-cache` otherwise:

- a signed-in member's page is theirs (their name, menu, unread counts, tokens);
- a page that needed a CSRF token (a form for this visitor), showed a flash message
  or changed the session would set a cookie or show something meant for one person:
  its response is never shared. The view's templates are told (`request.shared_page`)
  so that the common layout leaves out what would need a token on such pages.

`SharedCacheGuardMiddleware` is the last word: listed before the session and CSRF
middleware, it sees the cookies they set on the way out (a stale session cookie is
deleted, a CSRF cookie is rotated) and turns any `public` response that sets one into
`private, no-cache`.

Every response varies on Cookie (signed in or not, language chosen), Accept-Language
and HX-Request (the search page answers htmx with a fragment of itself), so a cache
keeps those variants apart.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

VARY = ("Cookie", "Accept-Language", "HX-Request")


class SharedCacheGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.cookies and "public" in response.get("Cache-Control", ""):
            del response.headers["Cache-Control"]
            patch_cache_control(response, private=True, no_cache=True)
        return response


def _is_personal(request: HttpRequest, response: HttpResponse) -> bool:
    messages = getattr(request, "_messages", None)
    session = getattr(request, "session", None)
    return bool(
        response.status_code != 200
        or response.cookies
        # get_token() was called: CsrfViewMiddleware will set the cookie on the way out.
        or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        # Messages were shown: they are one visitor's, and reading them changes storage.
        or (messages is not None and messages.used)
        or (session is not None and session.modified)
    )


def shared_cache_when_anonymous(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        anonymous = not request.user.is_authenticated
        request.shared_page = anonymous
        response = view(request, *args, **kwargs)
        patch_vary_headers(response, VARY)
        if anonymous and not _is_personal(request, response):
            patch_cache_control(response, public=True,
                                max_age=settings.PUBLIC_PAGES_MAX_AGE)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        return response

    return wrapper
