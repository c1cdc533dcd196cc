from django.urls import path

from messaging.consumers import ChatConsumer
from messaging.notification_consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/conversations/<int:conversation_id>/", ChatConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
