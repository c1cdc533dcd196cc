"""/ws/notifications/: one socket per open page of a signed-in member.

It carries what the navigation shows live: the unread counts (sent on connect and
whenever they change, on every device) and each new notification, worded in the
language this browser reads. It also records the socket's presence (messaging.presence)
so that emails are only sent to members who are not looking.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header

from messaging import presence
from messaging.counts import counts_for
from messaging.sockets import MemberSocket


def socket_language(scope: dict[str, Any]) -> str:
    """The language this browser reads: the language cookie set by the language menu,
    else its Accept-Language header, else the site's (the same order as Django's
    LocaleMiddleware, without the URL prefix this site does not use)."""
    candidates: list[str] = []
    cookie = (scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME)
    if cookie:
        candidates.append(cookie)
    for name, value in scope.get("headers") or []:
        if name == b"accept-language":
            header = value.decode("latin-1")[:400]
            candidates.extend(code for code, _ in parse_accept_lang_header(header) if code != "*")
    for code in candidates:
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


class NotificationConsumer(MemberSocket):
    language: str = settings.LANGUAGE_CODE
    _last_refresh: datetime | None = None

    async def on_accepted(self) -> None:
        self.language = socket_language(self.scope)
        await database_sync_to_async(presence.presence_open)(
            member_id=self.member_id, channel_name=self.channel_name
        )
        self._last_refresh = timezone.now()
        counts = await database_sync_to_async(counts_for)(self.scope["user"])
        await self.send_json({"type": "counts", **counts})

    async def receive_json(self, content: dict, **kwargs) -> None:
        if content["type"] == "heartbeat":
            await self._beat()
            await self.send_json({"type": "heartbeat"})
            return
        await super().receive_json(content, **kwargs)

    async def _beat(self) -> None:
        now = timezone.now()
        # A client beating too often costs no more writes than one beating on time.
        if self._last_refresh is not None and now - self._last_refresh < presence.REFRESH_EVERY:
            return
        self._last_refresh = now
        await database_sync_to_async(presence.presence_refresh)(
            member_id=self.member_id, channel_name=self.channel_name
        )

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.member_id is not None:
            await database_sync_to_async(presence.presence_close)(channel_name=self.channel_name)

    async def live_event(self, event: dict) -> None:
        payload = event["payload"]
        if payload.get("type") == "notification" and "texts" in payload:
            # The service worded it in every language; this socket picks its reader's.
            texts = payload["texts"]
            payload = {key: value for key, value in payload.items() if key != "texts"}
            payload["text"] = texts.get(self.language) or payload.get("text", "")
        await self.send_json(payload)
