from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from messaging.models import Notification


def notifications(request: HttpRequest) -> dict:
    """`unread_notifications`: the member's unread count, computed on first use in a
    template (one COUNT query per page; none for visitors or pages that never show it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}

    @cache
    def count() -> int:
        return Notification.objects.filter(member=user, read_at__isnull=True).count()

    return {"unread_notifications": count}
