"""messaging.resync: a chat socket told that the channel layer's subscription is back
sends what the database holds and it has not sent; no socket sends a message twice."""

from __future__ import annotations

import time
import uuid

import pytest
from channels.auth import AuthMiddlewareStack
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.urls import path

from config.redis_layer import RESYNC_GROUP
from messaging import conversations
from messaging.consumers import ChatConsumer
from messaging.resync import ResyncingSocket
from tests.messaging.live_support import receive_type, send_json
from tests.messaging.test_chat_consumer import key_of, pair, run  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


class ResyncingChatConsumer(ResyncingSocket, ChatConsumer):
    pass


application = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([
    path("ws/conversations/<int:conversation_id>/", ResyncingChatConsumer.as_asgi()),
])))


async def connected(conversation, member):
    from asgiref.sync import sync_to_async

    key = await sync_to_async(key_of)(member)
    comm = WebsocketCommunicator(application, f"/ws/conversations/{conversation.pk}/", headers=[
        (b"origin", b"http://localhost"), (b"host", b"localhost"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()),
    ])
    ok, code = await comm.connect()
    assert ok, code
    await send_json(comm, {"type": "resume", "last_id": 0})
    await receive_type(comm, "resumed")
    return comm


async def message_ids_until_quiet(comm, quiet: float = 0.5) -> list[int]:
    ids = []
    while not await comm.receive_nothing(timeout=quiet):
        frame = await comm.receive_json_from()
        if frame["type"] == "message":
            ids.append(frame["id"])
    return ids


def _post(conversation, member, body):
    from asgiref.sync import sync_to_async

    return sync_to_async(conversations.message_post)(
        conversation=conversation, sender=member, body=body, client_id=str(uuid.uuid4()))


def test_a_message_whose_live_event_was_lost_is_sent_once_the_layer_is_back(pair, monkeypatch):  # noqa: F811
    alice, bob, conversation = pair

    async def scenario():
        socket = await connected(conversation, alice)
        # Stored, but its live event never leaves (Redis was down when it was sent).
        monkeypatch.setattr(conversations, "layer_send_many", lambda sends: None)
        posted = await _post(conversation, bob, "Still free on Saturday?")
        monkeypatch.undo()
        assert await message_ids_until_quiet(socket) == []
        await get_channel_layer().group_send(
            RESYNC_GROUP, {"type": "layer.resubscribed", "broken_at": time.monotonic()})
        assert await message_ids_until_quiet(socket) == [posted.message.pk]
        await socket.disconnect()

    run(scenario)


def test_a_message_already_sent_is_not_sent_again_by_a_resync_or_a_resume(pair):  # noqa: F811
    alice, bob, conversation = pair

    async def scenario():
        socket = await connected(conversation, alice)
        posted = await _post(conversation, bob, "Still free on Saturday?")
        assert await message_ids_until_quiet(socket) == [posted.message.pk]
        await get_channel_layer().group_send(
            RESYNC_GROUP, {"type": "layer.resubscribed", "broken_at": time.monotonic()})
        assert await message_ids_until_quiet(socket) == []
        # A resume from before it (the page asked while the message came live).
        await send_json(socket, {"type": "resume", "last_id": 0})
        assert await message_ids_until_quiet(socket) == []
        await socket.disconnect()

    run(scenario)


def test_a_socket_that_never_resumed_waits_for_its_page_to_resume(pair):  # noqa: F811
    alice, bob, conversation = pair

    async def scenario():
        from asgiref.sync import sync_to_async

        key = await sync_to_async(key_of)(alice)
        comm = WebsocketCommunicator(application, f"/ws/conversations/{conversation.pk}/",
                                     headers=[(b"origin", b"http://localhost"),
                                              (b"host", b"localhost"),
                                              (b"cookie", f"sessionid={key}".encode())])
        assert (await comm.connect())[0]
        await get_channel_layer().group_send(
            RESYNC_GROUP, {"type": "layer.resubscribed", "broken_at": time.monotonic()})
        assert await comm.receive_nothing(timeout=0.5)
        await comm.disconnect()

    run(scenario)
