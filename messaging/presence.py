"""Who has a live socket open, across every worker process.

Each notification socket writes a SocketPresence row when it opens, refreshes its
`last_seen` on the browser's heartbeat (about once a minute) and deletes the row when it
closes. A process that is killed cannot delete its rows, so a row counts only while it
is fresh (STALE_AFTER); `presence_prune` removes the dead ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from messaging.models import SocketPresence

# The browser sends a heartbeat every 60 s: three missed beats and the socket is dead.
STALE_AFTER = timedelta(minutes=3)
# Refresh the row at most this often, however often a client beats.
REFRESH_EVERY = timedelta(seconds=30)


def presence_open(*, member_id: int, channel_name: str) -> None:
    SocketPresence.objects.update_or_create(
        channel_name=channel_name,
        defaults={"member_id": member_id, "last_seen": timezone.now()},
    )


def presence_refresh(*, member_id: int, channel_name: str) -> None:
    """Mark the socket alive now; recreates its row if a prune removed it meanwhile."""
    updated = SocketPresence.objects.filter(channel_name=channel_name).update(
        last_seen=timezone.now()
    )
    if not updated:
        presence_open(member_id=member_id, channel_name=channel_name)


def presence_close(*, channel_name: str) -> None:
    SocketPresence.objects.filter(channel_name=channel_name).delete()


def online_member_ids(member_ids: Iterable[int] | None = None) -> set[int]:
    """Members with at least one live socket (one query)."""
    rows = SocketPresence.objects.filter(last_seen__gte=timezone.now() - STALE_AFTER)
    if member_ids is not None:
        rows = rows.filter(member_id__in=list(member_ids))
    return set(rows.values_list("member_id", flat=True).distinct())


def presence_prune() -> int:
    """Delete the rows of sockets that stopped beating; returns how many."""
    deleted, _ = SocketPresence.objects.filter(
        last_seen__lt=timezone.now() - STALE_AFTER
    ).delete()
    return deleted
