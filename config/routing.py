"""Every websocket route of the project, gathered from the apps."""

from messaging.routing import websocket_urlpatterns as messaging_patterns

websocket_urlpatterns: list = [*messaging_patterns]
