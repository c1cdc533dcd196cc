"""Two gates: a member with an unread warning sees it before anything else, and the
admin opens only to staff who signed in with two-factor authentication."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

ADMIN_PREFIX = "/admin/"

# Paths that stay reachable: the warning itself, signing out, language, static files.
ALLOWED_PREFIXES = ("/moderation/warning/", "/accounts/logout/", "/i18n/", "/static/",
                    "/media/", "/sw.js", "/manifest.webmanifest", "/healthz", "/admin/")


class WarningMiddleware:
    """After authentication. No query: the flag is on the member already loaded."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None and user.is_authenticated
            and request.method in ("GET", "HEAD")
            and not request.path.startswith(ALLOWED_PREFIXES)
            and user.warning_pending
        ):
            return redirect(reverse("moderation:warning"))
        return self.get_response(request)


class StaffTwoFactorMiddleware:
    """The admin only for staff who signed in with a TOTP code (allauth MFA).

    Staff without an authenticator are sent to set one up; staff who signed in without
    using it (it was added later) confirm a code first. The admin's own password-only
    login form is replaced by the site's login, which asks for the code. Off when
    ADMIN_REQUIRE_2FA is false (tests of other apps' admin pages)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.ADMIN_REQUIRE_2FA and request.path.startswith(ADMIN_PREFIX):
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        from allauth.account.internal.flows.login import get_authentication_records
        from allauth.mfa.models import Authenticator

        user = request.user
        if request.path.startswith(ADMIN_PREFIX + "login/"):
            # Said before the password, not after: a moderator without an authenticator
            # app would otherwise sign in only to be sent to set one up.
            messages.info(request, _(
                "The admin is for moderators. It opens after signing in with a code from "
                "an authenticator app (set one up under Account, Two-factor authentication)."
            ))
            target = request.GET.get("next", ADMIN_PREFIX)
            return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
        if not (user.is_authenticated and user.is_staff):
            return None
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            messages.warning(request, _(
                "The admin needs two-factor authentication: set up an authenticator app first."
            ))
            return redirect(reverse("mfa_activate_totp"))
        used_mfa = any(record.get("method") == "mfa"
                       for record in get_authentication_records(request, user))
        if not used_mfa:
            return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")
        return None
