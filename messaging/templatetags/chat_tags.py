from __future__ import annotations

from django import template

from exchanges.models import Exchange, ExchangeKind
from messaging import conversations
from messaging.models import Conversation, ConversationKind, Message, Participant

register = template.Library()


@register.inclusion_tag("messaging/_exchange_conversation.html", takes_context=True)
def exchange_conversation(context, exchange: Exchange) -> dict:
    """The deal's conversation (its last message, the viewer's unread count) and, for a
    ride, the ride's group when the viewer is in it."""
    user = context["request"].user
    result = {"exchange": exchange, "user": user, "other": exchange.other_party(user),
              "csrf_token": context.get("csrf_token")}
    conversation = Conversation.objects.filter(
        kind=ConversationKind.EXCHANGE, exchange=exchange
    ).first()
    if conversation is not None:
        place = Participant.objects.filter(conversation=conversation, member=user).first()
        visible = Message.objects.filter(conversation=conversation, hidden_at__isnull=True)
        result["last"] = visible.select_related("sender").order_by("-id").first()
        if place is not None:
            result["unread"] = visible.filter(id__gt=place.last_read_message_id).exclude(
                sender=user
            ).count()
    if exchange.kind == ExchangeKind.RIDE:
        ride = conversations.ride_conversation_of(exchange.listing)
        if ride is not None and conversations.active_participant(ride.pk, user) is not None:
            result["ride_conversation"] = ride
    return result
