"""A member's standing: whether they may act, and what happens when they may not.

Moderators suspend (for a number of days) or ban a member through the moderation
services, which set the fields on Member. Everything else reads them through here:

- services that let a member post, ask or write call `require_good_standing` first;
- the login refuses them with the reason (`StandingAccountAdapter.pre_login`);
- `members.middleware.StandingMiddleware` signs out a signed-in member who lost it and
  shows the same page;
- `standing_sessions_end` signs them out of every browser at once, leaving a note in
  each session so the next visit from that browser says why.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from members.login_limits import LoginLimitsMixin
from members.models import Member

# Left in a signed-out session by standing_sessions_end: the member's id, so the next
# visit from that browser shows why they were signed out.
NOTICE_SESSION_KEY = "standing_notice_member"


class StandingError(PermissionDenied):
    """The member is suspended or banned; the message says why and until when."""


def standing_message(member: Member) -> str:
    """One sentence for the member: banned, or suspended until when (in their timezone)."""
    if member.is_banned:
        return _("Your account has been closed by the moderators.")
    if member.is_suspended:
        until = formats.date_format(timezone.localtime(member.suspended_until), "DATETIME_FORMAT")
        # The date leads: formats such as "11:54 a.m." end with their own full stop.
        return _("Until %(until)s, your account is suspended.") % {"until": until}
    return _("Your account is in good standing.")


def require_good_standing(member: Member) -> None:
    """Raise StandingError unless the member may act now. Called first by every service
    a member uses to post, ask or write (listings, exchanges, messages)."""
    if not member.may_act:
        raise StandingError(standing_message(member))


def standing_response(request: HttpRequest, member: Member) -> HttpResponse:
    """The page a suspended or banned member sees instead of what they asked for."""
    return render(request, "members/standing.html", {
        "standing_member": member,
        "standing_message": standing_message(member),
        "reason": member.standing_reason,
    }, status=403)


def standing_sessions_end(member: Member) -> int:
    """Sign the member out of every browser now: each of their database sessions loses
    its login and keeps only NOTICE_SESSION_KEY. Returns how many were ended.

    Django keeps no index of sessions by user, so this reads every unexpired session.
    It runs only when a moderator suspends or bans someone, which is rare; a member
    signing in meanwhile is still caught by StandingMiddleware on their next request."""
    ended = 0
    store_class = Session.get_session_store_class()
    store = store_class()
    user_id = str(member.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get(SESSION_KEY)) != user_id:
            continue
        # Nothing else survives: a cart or a half-filled form belongs to the login.
        kept = {NOTICE_SESSION_KEY: member.pk}
        Session.objects.filter(pk=session.pk).update(session_data=store.encode(kept))
        ended += 1
    return ended


class StandingAccountAdapter(LoginLimitsMixin, DefaultAccountAdapter):
    """allauth's adapter, refusing the login of a suspended or banned member with the
    reason and the end of the suspension, before any session is made; failed logins
    are limited per address and account (members.login_limits); its emails are signed
    by the site (SITE_NAME, SITE_URL's host), not by the request's host, which allauth
    would print ("Hello from 127.0.0.1:8201!")."""

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        site = SimpleNamespace(name=settings.SITE_NAME,
                               domain=urlsplit(settings.SITE_URL).netloc or settings.SITE_NAME)
        super().send_mail(template_prefix, email, {**context, "current_site": site})

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        if user.is_active and not user.may_act:
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            return standing_response(request, user)
        return super().pre_login(request, user, **kwargs)
