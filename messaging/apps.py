from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        # messaging listens to exchanges; exchanges never imports messaging.
        from messaging import conversation_receivers, receivers

        receivers.connect()
        conversation_receivers.connect()
        from messaging import live_receivers

        live_receivers.connect()
