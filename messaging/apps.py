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

        from members import contacts

        # Everyone in a conversation the member took part in.
        contacts.register("conversations", _people_written_to)


def _people_written_to(member) -> list[int]:
    from messaging.models import Participant

    mine = Participant.objects.filter(member=member).values("conversation_id")
    return list(
        Participant.objects.filter(conversation_id__in=mine)
        .values_list("member_id", flat=True).distinct()
    )
