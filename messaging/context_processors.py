from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from messaging.models import Notification
from messaging.selectors import unread_conversations_count


def notifications(request: HttpRequest) -> dict:
    """`unread_notifications` and `unread_messages`: the member's unread counts, each
    computed on first use in a template (one COUNT query per page; none for visitors or
    pages that never show it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0, "unread_messages": 0}

    @cache
    def count() -> int:
        return Notification.objects.filter(member=user, read_at__isnull=True).count()

    @cache
    def messages() -> int:
        return unread_conversations_count(user)

    return {"unread_notifications": count, "unread_messages": messages}
