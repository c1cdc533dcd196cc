"""Standing on every request: a suspended or banned member who is still signed in (or
whose browser was signed out by a moderator's action) sees why, instead of the page."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from members.models import Member
from members.standing import NOTICE_SESSION_KEY, StandingError, standing_response


class StandingMiddleware:
    """After AuthenticationMiddleware. Costs no query for members in good standing
    (request.user is loaded anyway) and one session read for a signed-out browser
    that carries a session cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if not user.may_act:
                member = user
                logout(request)
                return standing_response(request, member)
        elif settings.SESSION_COOKIE_NAME in request.COOKIES:
            member_id = request.session.pop(NOTICE_SESSION_KEY, None)
            if member_id is not None:
                member = Member.objects.filter(pk=member_id).first()
                if member is not None and member.is_active and not member.may_act:
                    return standing_response(request, member)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A service refused because standing changed during the request.
        if isinstance(exception, StandingError) and request.user.is_authenticated:
            member = request.user
            logout(request)
            return standing_response(request, member)
        return None
