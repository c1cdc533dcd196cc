"""How many wrong passwords a login takes before it is paused, and for whom.

allauth counts failed logins per account ("5/5m/key" with the email as the key): five
wrong passwords typed by anyone, from anywhere, locked the real owner out for five
minutes, again and again. Here the counts are:

- per client address (settings.ACCOUNT_RATE_LIMITS["login_failed"], "ip" rates): one
  address cannot guess across many accounts quickly. The address is REMOTE_ADDR as
  core.proxy.ProxyMiddleware set it: X-Forwarded-For only from TRUSTED_PROXIES;
- per pair (address, account) (the same setting's "key" rates): five wrong passwords
  for an account from one address pause that address for that account only. A
  stranger locks themselves out, not the owner, who signs in from their own address;
- per account, from every address together (ACCOUNT_RATE_LIMITS["login_failed_account"]):
  still a brake on a guess spread over many addresses, but set far above what one
  address can reach through its pair limit (5 per 5 minutes is 60 an hour), so that
  nobody can pause an account from one address, and a distributed guesser gets at most
  that many tries an hour. It does not stop the owner on a browser they signed in
  from before (a signed cookie, KNOWN_BROWSER_COOKIE, set at each login): only their
  pair limit applies there, so even a guess from many addresses cannot keep them out
  of their usual phone. On a new browser the owner is told to reset their password: a
  completed reset clears the account's count (allauth calls
  `_delete_login_attempts_cached_email`), so the new password works at once.

allauth.core.internal.ratelimit is allauth's internal module (its adapter uses it the
same way); tests/members/test_login_limits.py notices if it changes.

A successful login takes back its own attempt from every count (allauth's rollback),
so typing the right password never uses up anybody's tries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit
from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

ACCOUNT_ACTION = "login_failed_account"

# "This browser signed in to member N before": the member's id, signed, for a year.
KNOWN_BROWSER_COOKIE = "partage_known_browser"
KNOWN_BROWSER_MAX_AGE = timedelta(days=365)
KNOWN_BROWSER_SALT = "members.login_limits.known-browser"


class LoginLimitsMixin:
    """For the account adapter: failed logins limited per address, per (address,
    account) and, much higher, per account (see the module's docstring)."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": _(
            "Too many failed attempts to sign in to this account from your connection. "
            "Wait 5 minutes and try again, or choose “Forgot your password?” to set a "
            "new one."
        ),
        "too_many_login_attempts_account": _(
            "Signing in to this account with a password is paused for up to an hour: "
            "it had too many wrong passwords from several places. If it is yours, "
            "choose “Forgot your password?”: once you have set a new one, you can sign "
            "in straight away."
        ),
    }

    def get_client_ip(self, request: HttpRequest) -> str:
        # core.proxy.ProxyMiddleware already replaced REMOTE_ADDR with the client's
        # address where a trusted proxy said so; nothing else is believed.
        return request.META.get("REMOTE_ADDR") or super().get_client_ip(request)

    def _account_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth's own key: site and the login in lower case.
        return super()._get_login_attempts_cache_key(request, **credentials)

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """The pair (client address, account): what "key" rates of login_failed count."""
        return f"{ratelimit.get_ip(request)}|{self._account_key(request, **credentials)}"

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        pair = ratelimit.consume(request, app="allauth.account", action="login_failed",
                                 key=self._get_login_attempts_cache_key(request, **credentials))
        if not pair:
            raise self.validation_error("too_many_login_attempts")
        account = ratelimit.consume(request, app="allauth.account", action=ACCOUNT_ACTION,
                                    key=self._account_key(request, **credentials))
        if not account:
            if self._is_known_browser(request, credentials.get("email") or ""):
                # The brake is for strangers spread over many addresses; the owner's own
                # browser still has its pair limit.
                account = ratelimit.RateLimitUsage(usage=[])
            else:
                # The password was not tried: this uses none of the address's tries.
                pair.rollback()
                raise self.validation_error("too_many_login_attempts_account")
        self._login_failed_rl_usage = ratelimit.RateLimitUsage(usage=pair.usage + account.usage)

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any) -> None:
        # A completed password reset: the account's count and this address's pair start
        # again (allauth's own method clears the key it counts, the pair).
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(request, app="allauth.account", action=ACCOUNT_ACTION,
                        key=self._account_key(request, **credentials))

    def _is_known_browser(self, request: HttpRequest, email: str) -> bool:
        """Whether this browser signed in before to the account that `email` names."""
        from allauth.account.models import EmailAddress

        from members.models import Member

        try:
            member_id = signing.loads(request.COOKIES.get(KNOWN_BROWSER_COOKIE, ""),
                                      salt=KNOWN_BROWSER_SALT,
                                      max_age=KNOWN_BROWSER_MAX_AGE)
        except signing.BadSignature:  # absent, forged or older than a year
            return False
        if not isinstance(member_id, int) or not email:
            return False
        return (EmailAddress.objects.filter(user_id=member_id, email__iexact=email).exists()
                or Member.objects.filter(pk=member_id, email__iexact=email).exists())

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        response.set_cookie(
            KNOWN_BROWSER_COOKIE, signing.dumps(user.pk, salt=KNOWN_BROWSER_SALT),
            max_age=int(KNOWN_BROWSER_MAX_AGE.total_seconds()),
            secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
        )
        return response
