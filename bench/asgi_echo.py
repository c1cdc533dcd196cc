"""The production ASGI application plus a bare echo consumer, for bench/chat.py only.

/bench/echo/ answers every text frame with the same frame: no authentication, no
database, no channel layer. It is the ceiling the chat consumer is compared with, on
the same server in the same run. Production (config.asgi) has no such route.

The per-member chat rate limit (20 messages per 10 s) is lifted here: the benchmark
measures how fast the server stores and delivers messages, and a client sending
flat out would otherwise spend the run being told to slow down.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer

from config.asgi import application as partage_application
from messaging import conversations

conversations.RATE_LIMIT = 10**9

ECHO_PATH = "/bench/echo/"


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data, bytes_data=bytes_data)


_echo = EchoConsumer.as_asgi()


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope.get("path") == ECHO_PATH:
        return await _echo(scope, receive, send)
    return await partage_application(scope, receive, send)
