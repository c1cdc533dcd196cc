"""A chat socket that catches up by itself when the channel layer lost live events.

Redis Pub/Sub keeps nothing: the live events published while a worker's subscription
was broken (a Redis restart) are gone, and the socket stays open, so its page never
resumes. Worse, the page's "last id" moves past them with its own acks, so even a later
resume would skip them (tests/faults found both). With config.redis_layer's layer, a
socket in RESYNC_GROUP is told when the subscription is back, and sends the messages it
has not sent yet from what the database holds since shortly before the break.

A socket also never sends the same message id twice (a message stored between joining
the conversation's group and answering the page's resume came live and again in the
resume reply): the count the fault harness keeps, not the page's dedupe, is the rule.

Mixed in before the chat consumer, which provides `_missed(last_id)`:
`class ResyncingChatConsumer(ResyncingSocket, ChatConsumer)`.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

from config.redis_layer import RESYNC_GROUP
from messaging.sockets import CLOSE_SERVER_ERROR, describe_error, socket_db

logger = logging.getLogger(__name__)

# Messages committed this long before the break may have been published into it.
RESYNC_MARGIN = 2.0
# Ids remembered per socket, to send none twice (a page that was sent more than this
# reloads its history anyway, once its resume is over RESUME_LIMIT).
REMEMBERED = 2000


class ResyncingSocket:
    _sent: collections.OrderedDict
    _resumed_to: int | None = None

    async def on_accepted(self) -> None:
        self._sent = collections.OrderedDict()
        await super().on_accepted()
        await self.join(RESYNC_GROUP)

    async def send_json(self, content: dict, close: bool = False) -> None:
        kind = content.get("type")
        message_id = content.get("id")
        if kind in ("message", "ack") and isinstance(message_id, int):
            sent = getattr(self, "_sent", None)
            if sent is not None:
                if kind == "message" and message_id in sent:
                    return
                sent[message_id] = time.monotonic()
                sent.move_to_end(message_id)
                while len(sent) > REMEMBERED:
                    sent.popitem(last=False)
        elif kind == "resumed" and isinstance(content.get("last_id"), int):
            # Everything up to here is on the page: the floor of a later resync.
            self._resumed_to = max(self._resumed_to or 0, content["last_id"])
        await super().send_json(content, close)

    async def layer_resubscribed(self, event: dict[str, Any]) -> None:
        floor = self._resync_floor(event["broken_at"] - RESYNC_MARGIN)
        if floor is None:  # the page never resumed and was sent nothing: it will
            return
        try:
            missed = await socket_db(self._missed)(floor)
        except Exception as error:
            # The database is often away in the same outage: a new socket resumes.
            logger.error("resync failed: %s", describe_error(error))
            await self.close(code=CLOSE_SERVER_ERROR)
            return
        for payload in missed:
            await self.send_json(payload)  # those already sent are skipped there

    def _resync_floor(self, since: float) -> int | None:
        """The highest id the page is known to have had before `since`."""
        before = [message_id for message_id, at in self._sent.items() if at < since]
        candidates = [*before, *([self._resumed_to] if self._resumed_to is not None else [])]
        return max(candidates) if candidates else None
