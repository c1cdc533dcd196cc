"""The two unread counts the navigation shows on every open page, and their live push.

Every change that moves a count (a new message, a conversation read, a notification
created or read) calls push_counts for the member concerned, so every device of theirs
shows the same figures at once.
"""

from __future__ import annotations

import logging

from django.db import transaction

from members.models import Member
from messaging import live
from messaging.selectors import nav_counts
from messaging.sockets import layer_send

logger = logging.getLogger(__name__)


def counts_for(member: Member) -> dict[str, int]:
    """{"notifications": unread notifications, "messages": conversations with unread
    messages}, in one query."""
    return nav_counts(member.pk)


def _push_now(member_id: int) -> None:
    try:
        member = Member(pk=member_id)
        payload = {"type": "counts", **counts_for(member)}
    except Exception:  # counts are extra: never break what changed them
        logger.warning("counts for member %s not computed", member_id, exc_info=True)
        return
    # Not live.push_to_member: this runs in a socket's database thread after each new
    # message, which should not wait for the channel layer (see layer_send).
    layer_send(live.member_group(member_id), {"type": "live.event", "payload": payload})


def push_counts(member_id: int) -> None:
    """Send the member's current counts to all their open sockets once the transaction
    commits (counted then, so they include the change). Never raises."""
    transaction.on_commit(lambda: _push_now(member_id))
