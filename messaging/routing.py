from django.urls import path

from messaging.consumers import ChatConsumer
from messaging.notification_consumers import NotificationConsumer
from messaging.resync import ResyncingSocket


class ResyncingChatConsumer(ResyncingSocket, ChatConsumer):
    """The chat socket, catching up after the channel layer lost live events."""


websocket_urlpatterns = [
    path("ws/conversations/<int:conversation_id>/", ResyncingChatConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
