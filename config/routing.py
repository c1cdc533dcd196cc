"""Every websocket route of the project, gathered from the apps; any other path is
refused at the handshake (messaging.sockets.RefusedSocket)."""

from django.urls import re_path

from messaging.routing import websocket_urlpatterns as messaging_patterns
from messaging.sockets import RefusedSocket

websocket_urlpatterns: list = [*messaging_patterns, re_path(r"", RefusedSocket.as_asgi())]
