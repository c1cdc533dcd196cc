"""The chat socket: /ws/conversations/<id>/.

Only an active participant connects (a member the other party blocked is refused too);
anyone else is closed with 4003 at connect. Frames in and out are JSON objects with a
"type"; the rules are the services' (messaging.conversations), called in the socket
database threads (messaging.sockets.socket_db), so several sockets' messages are stored
side by side. A socket's own messages are stored one at a time, in order, by a task of
its own, and acknowledged in that order; meanwhile it keeps relaying what others say.
The socket a message came from gets its ack and no copy of the broadcast (the page
shows the message already): one frame to the sender's phone instead of two. The
sender's other sockets, on the same conversation, get the broadcast like everyone.

Browser → server:
  {"type": "message", "body", "client_id"}  stored, then broadcast to the other
                                            sockets; this one gets
                                            {"type": "ack", "client_id", "id"}
  {"type": "typing"}                        others get {"type": "typing", "member", "name"}
  {"type": "read", "last_id"}               others get {"type": "seen", "member", "last_id"}
  {"type": "resume", "last_id"}             every visible message with a larger id, in
                                            order (at most RESUME_LIMIT), then
                                            {"type": "resumed", "last_id", "more"}
Server → browser, besides: {"type": "message", "id", "conversation", "sender",
"sender_name", "body", "created_at", "client_id"}, the member's {"type": "counts", ...}
and {"type": "error", "code", "message"}, with the message's "client_id" when it answers
one. Every frame gets an answer and one bad frame costs that frame only: the socket
stays open and the next frame works. Error codes:
  invalid, blocked, forbidden   the message is refused as it is: don't resend it
  rate_limited                  resend it in a few seconds
  unavailable                   not stored (the database failed): resend it
  unknown_type, bad_json, bad_frame, too_large, server_error   the frame is refused
Close codes (never 1011, which daphne cannot send: messaging.sockets):
  4001  signed out on this browser: don't reconnect
  4003  not, or no longer, a participant (or blocked): don't reconnect
  4500  this socket cannot go on: reconnect, resume from the last id, resend pending
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext as _

from messaging import conversations
from messaging.conversations import ChatError
from messaging.models import Conversation
from messaging.sockets import (
    CLOSE_SERVER_ERROR,
    CLOSE_UNAUTHORISED,
    MemberSocket,
    describe_error,
    socket_db,
)

logger = logging.getLogger(__name__)

# At most one typing frame per socket this often: a keystroke each is noise.
TYPING_EVERY = 2.0
# Messages a socket may have waiting to be stored; beyond that it stops reading frames
# until the oldest is stored (backpressure instead of an unbounded queue).
PENDING_POSTS = 20
# Seconds between tries of a store that lost its database connection.
STORE_RETRY_DELAYS = (0.2, 1.0, 2.0)
# Conversation ids are PostgreSQL bigints: a larger one in the path names nothing.
MAX_ID = 2**63 - 1


def _int_at_least_zero(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


class ChatConsumer(MemberSocket):
    conversation: Conversation
    conversation_id: int
    member_name: str = ""
    last_typing: float = 0.0
    _posts: asyncio.Queue | None = None
    _poster: asyncio.Task | None = None

    async def may_connect(self, user: Any) -> bool:
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["conversation_id"])
        if self.conversation_id > MAX_ID:
            return False
        conversation = await socket_db(conversations.connectable_conversation)(
            self.conversation_id, user
        )
        if conversation is None:
            return False
        # Kept for the socket's life: a conversation's kind never changes, and who may
        # post is checked again by every post.
        self.conversation = conversation
        self.member_name = user.public_name
        # Joined before accepting: nothing sent after the accept can be missed.
        await self.join(conversations.conversation_group(self.conversation_id))
        return True

    async def disconnect(self, code: int) -> None:
        if self._poster is not None:
            # A store already running finishes in its thread (the client resends by
            # client_id and is acknowledged then); waiting ones are dropped unacked.
            self._poster.cancel()
        await super().disconnect(code)

    async def receive_json(self, content: dict, **kwargs) -> None:
        handler = {
            "message": self.on_message,
            "typing": self.on_typing,
            "read": self.on_read,
            "resume": self.on_resume,
        }.get(content["type"])
        if handler is None:
            await self.send_error("unknown_type", _("Unknown frame type."))
            return
        await handler(content)

    # Frames from the browser ----------------------------------------------------------

    async def on_message(self, content: dict) -> None:
        # Stored by a task of this socket, one at a time in the order they came, so
        # that while it waits for the database this socket still relays what the others
        # say (a consumer handles one event at a time: awaiting the store here would
        # hold every broadcast addressed to it).
        if self._posts is None:
            self._posts = asyncio.Queue(maxsize=PENDING_POSTS)
            self._poster = asyncio.create_task(self._post_in_order())
        await self._posts.put(content)

    async def _post_in_order(self) -> None:
        assert self._posts is not None
        try:
            while True:
                content = await self._posts.get()
                await self._answer_post(content)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The answering side of this socket is gone (a send failed): close it with
            # a code the page reconnects on, rather than leave it open and deaf.
            logger.error("conversation %s: socket closed: %s", self.conversation_id,
                         describe_error(error))
            self._posts = None
            await self.close(code=CLOSE_SERVER_ERROR)

    async def _answer_post(self, content: dict) -> None:
        """Store one message and answer it: an ack, or an error frame naming it."""
        client_id = content.get("client_id")
        try:
            posted = await self._store(content.get("body"), client_id)
        except ChatError as error:
            await self.send_error(error.code or "invalid", " ".join(error.messages),
                                  client_id=client_id)
            return
        except Exception as error:
            logger.error("conversation %s: message not stored: %s", self.conversation_id,
                         describe_error(error))
            await self.send_error("unavailable",
                                  _("This message could not be sent yet. Sending it again…"),
                                  client_id=client_id)
            return
        await self.send_json({"type": "ack", "client_id": client_id, "id": posted.message.pk})

    async def _store(self, body: Any, client_id: Any) -> conversations.Posted:
        # A lost database connection (PostgreSQL restarted) fails the first store on
        # it; the thread closes it and the next try opens a fresh one. Retried only with
        # a client_id: if the first try did commit, the retry finds it instead of
        # storing it twice. Meanwhile later messages wait: order is kept.
        for delay in (*STORE_RETRY_DELAYS, None):
            try:
                return await socket_db(self._post)(body, client_id)
            except (OperationalError, InterfaceError) as error:
                if delay is None or not client_id:
                    raise
                logger.warning("conversation %s: store failed, retrying: %s",
                               self.conversation_id, describe_error(error))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _post(self, body: Any, client_id: Any) -> conversations.Posted:
        # message_post reads the sender's standing and the blocks again, in the same
        # query that locks the participants: the member in the scope may be stale.
        return conversations.message_post(
            conversation=self.conversation, sender=self.scope["user"], body=body,
            client_id=client_id, origin=self.channel_name,
        )

    async def on_typing(self, content: dict) -> None:
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY:
            return
        self.last_typing = now
        await self.channel_layer.group_send(
            conversations.conversation_group(self.conversation_id),
            {"type": "chat.typing", "member": self.member_id, "name": self.member_name},
        )

    async def on_read(self, content: dict) -> None:
        last_id = _int_at_least_zero(content.get("last_id"))
        if last_id is None:
            await self.send_error("invalid", _("last_id must be a whole number."))
            return
        await socket_db(self._mark_read)(last_id)

    def _mark_read(self, last_id: int) -> None:
        conversations.conversation_mark_read(
            conversation=self.conversation, member=self.scope["user"], last_id=last_id
        )

    async def on_resume(self, content: dict) -> None:
        last_id = _int_at_least_zero(content.get("last_id"))
        if last_id is None:
            await self.send_error("invalid", _("last_id must be a whole number."))
            return
        try:
            missed = await socket_db(self._missed)(last_id)
        except Exception as error:
            # A page that asked what it missed must get it: a new socket asks again.
            logger.error("conversation %s: resume failed: %s", self.conversation_id,
                         describe_error(error))
            await self.close(code=CLOSE_SERVER_ERROR)
            return
        for payload in missed:
            await self.send_json(payload)
        # "more": the resume stopped at RESUME_LIMIT and the page asks again from here.
        await self.send_json({"type": "resumed",
                              "last_id": missed[-1]["id"] if missed else last_id,
                              "more": len(missed) >= conversations.RESUME_LIMIT})

    def _missed(self, last_id: int) -> list[dict]:
        return [
            conversations.message_payload(message)
            for message in conversations.messages_after(conversation=self.conversation,
                                                        last_id=last_id,
                                                        limit=conversations.RESUME_LIMIT)
        ]

    # Events from the conversation group ----------------------------------------------

    async def chat_message(self, event: dict) -> None:
        if event.get("origin") != self.channel_name:
            await self.send_json(event["payload"])

    async def chat_typing(self, event: dict) -> None:
        if event["member"] != self.member_id:
            await self.send_json({"type": "typing", "member": event["member"], "name": event["name"]})

    async def chat_seen(self, event: dict) -> None:
        await self.send_json({"type": "seen", "member": event["member"], "last_id": event["last_id"]})

    async def chat_blocked(self, event: dict) -> None:
        # Closed like any refused socket: the blocked member is never told why.
        if event["member"] == self.member_id:
            await self.close(code=CLOSE_UNAUTHORISED)

    async def chat_left(self, event: dict) -> None:
        if event["member"] == self.member_id:
            await self.close(code=CLOSE_UNAUTHORISED)
