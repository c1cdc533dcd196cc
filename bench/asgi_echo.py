"""The production ASGI application plus two bare consumers, for bench/chat.py only.

/bench/echo/ answers every text frame with the same frame: no authentication, no
database, no channel layer. It is the ceiling the chat consumer is compared with, on
the same server in the same run.

/bench/relay/<pair>/ is the chat's protocol without its rules and without a database:
a frame is acknowledged to its sender and broadcast through the channel layer to the
pair's other socket, as the chat does once a message is stored.
What separates the chat from it is the cost of storing and checking; what separates it
from the echo is the protocol's own (an ack, a broadcast to two sockets, the layer).

Production (config.asgi) has neither route.

The per-member chat rate limit (20 messages per 10 s) is lifted here: the benchmark
measures how fast the server stores and delivers messages, and a client sending
flat out would otherwise spend the run being told to slow down.
"""

from __future__ import annotations

import itertools
import json

from channels.generic.websocket import AsyncWebsocketConsumer

from config.asgi import application as partage_application
from messaging import conversations

conversations.RATE_LIMIT = 10**9

ECHO_PATH = "/bench/echo/"
RELAY_PREFIX = "/bench/relay/"


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


# Ids as the database would hand them out, unique within a worker.
_relay_ids = itertools.count(1)


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.group = "bench-relay-" + self.scope["path"][len(RELAY_PREFIX):].strip("/")
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        frame = json.loads(text_data)
        message_id = next(_relay_ids)
        await self.channel_layer.group_send(self.group, {
            "type": "relay.message", "origin": self.channel_name,
            "payload": {"type": "message", "id": message_id, "sender": frame["sender"],
                        "body": frame["body"], "client_id": frame["client_id"]},
        })
        await self.send(text_data=json.dumps({"type": "ack", "client_id": frame["client_id"],
                                              "id": message_id}))

    async def relay_message(self, event):
        if event["origin"] != self.channel_name:
            await self.send(text_data=json.dumps(event["payload"]))


_echo = EchoConsumer.as_asgi()
_relay = RelayConsumer.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope.get("path") == ECHO_PATH:
        return await _echo(scope, receive, send)
    if scope["type"] == "websocket" and scope.get("path", "").startswith(RELAY_PREFIX):
        return await _relay(scope, receive, send)
    return await partage_application(scope, receive, send)
