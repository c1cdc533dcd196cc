"""Where a member is signed in: one row per browser session (allauth's UserSession),
with the device and browser it says it is, and when it was last seen.

Signing a device out ends its session and closes its open websockets at once (the
socket was authenticated at connect, so the server must push the close).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from members.models import Member
from messaging import live

# How often a browser's "last seen" is written: not on every request.
LAST_SEEN_EVERY = timedelta(minutes=5)

_BROWSERS = [
    (r"Edg(e|A|iOS)?/", "Edge"), (r"OPR/|Opera", "Opera"), (r"Firefox/|FxiOS/", "Firefox"),
    (r"SamsungBrowser/", "Samsung Internet"), (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
]
_SYSTEMS = [
    (r"iPhone", "iPhone"), (r"iPad", "iPad"), (r"Android", "Android"),
    (r"Windows", "Windows"), (r"Mac OS X|Macintosh", "macOS"), (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
]


def describe_user_agent(user_agent: str) -> str:
    """"Chrome on Android", "Firefox on Windows"… or a plain "Unknown browser"."""
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, user_agent)), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, user_agent)), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")


@dataclass(frozen=True)
class Device:
    pk: int
    description: str
    ip: str
    signed_in_at: datetime
    last_seen_at: datetime
    is_current: bool


def devices_of(member: Member, current_session_key: str | None) -> list[Device]:
    """The member's signed-in browsers, most recently seen first. Sessions that ended
    (expired, signed out, password changed) are dropped on the way."""
    sessions = UserSession.objects.purge_and_list(member)
    devices = [
        Device(pk=s.pk, description=describe_user_agent(s.user_agent), ip=s.ip,
               signed_in_at=s.created_at, last_seen_at=s.last_seen_at,
               is_current=s.session_key == current_session_key)
        for s in sessions
    ]
    return sorted(devices, key=lambda d: (not d.is_current, -d.last_seen_at.timestamp()))


def _end(session: UserSession) -> None:
    live.close_session_sockets(session.session_key)
    session.end()


@transaction.atomic
def device_sign_out(*, member: Member, device_pk: int) -> str | None:
    """Sign one of the member's browsers out: its session ends and its sockets close.
    Returns the ended session's key, or None (and does nothing) when the device is not
    the member's."""
    session = UserSession.objects.filter(user=member, pk=device_pk).first()
    if session is None:
        return None
    _end(session)
    return session.session_key


@transaction.atomic
def devices_sign_out_all(*, member: Member, except_session_key: str | None = None) -> int:
    """Sign the member out everywhere (but the given session); returns how many."""
    sessions = UserSession.objects.filter(user=member).exclude(session_key=except_session_key or "")
    ended = 0
    for session in sessions:
        _end(session)
        ended += 1
    return ended


class DeviceActivityMiddleware:
    """Records each signed-in browser (and refreshes when it was last seen) at most every
    LAST_SEEN_EVERY, so the devices page stays current without a write per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and user.is_authenticated and session is not None and session.session_key:
            key = f"device-seen:{session.session_key}"
            if cache.add(key, 1, timeout=int(LAST_SEEN_EVERY.total_seconds())):
                UserSession.objects.create_from_request(request)
        return response
