"""How a change reaches a member's open sockets: on every device, in every worker.

Each websocket joins two channel-layer groups when it connects: its member's group
(every socket of that member, whatever the device or worker process) and its session's
group (the sockets of one signed-in browser). Services never talk to sockets directly;
they call these functions, which send after the transaction commits (the database is
the truth: an event never announces something that was rolled back) and never raise
(live events are extra; a client that reconnects asks for what it missed).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# The close code a consumer uses when the server ends a member's sockets (signed out,
# password changed, suspended). Clients do not reconnect on it without reloading.
CLOSE_SIGNED_OUT = 4001


def member_group(member_id: int) -> str:
    return f"member.{member_id}"


def session_group(session_key: str) -> str:
    # Group names are visible in Redis: never the session key itself.
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:40]
    return f"session.{digest}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a down channel layer must not break the request that caused it
        logger.warning("live event to %s not sent", group, exc_info=True)


def push_to_member(member_id: int, payload: dict[str, Any]) -> None:
    """Send `payload` (JSON-serialisable, with a "type" key the browser understands) to
    every open socket of the member once the current transaction commits; at once if
    none is open. Never raises."""
    transaction.on_commit(
        lambda: _send(member_group(member_id), {"type": "live.event", "payload": payload})
    )


def close_member_sockets(member_id: int) -> None:
    """Close every open socket of the member, on every device (password changed,
    suspended, account deleted). Never raises."""
    transaction.on_commit(
        lambda: _send(member_group(member_id), {"type": "live.close", "code": CLOSE_SIGNED_OUT})
    )


def close_session_sockets(session_key: str) -> None:
    """Close the open sockets of one signed-in browser (it signed out). Never raises."""
    transaction.on_commit(
        lambda: _send(session_group(session_key), {"type": "live.close", "code": CLOSE_SIGNED_OUT})
    )
