"""The audit log on any object's admin page (templates/admin/change_form.html)."""

from __future__ import annotations

from django import template
from django.contrib.contenttypes.models import ContentType

from moderation.models import ModerationAction
from moderation.targets import moderation_page_allows

register = template.Library()


@register.inclusion_tag("moderation/_admin_change_form_extra.html", takes_context=True)
def moderation_panel(context, obj) -> dict:
    if obj is None or obj.pk is None:
        return {"show": False}
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    history = ModerationAction.objects.filter(content_type=content_type, object_id=obj.pk)
    moderatable = moderation_page_allows(type(obj))
    return {
        "show": True,
        "history": history.select_related("moderator")[:50],
        "moderate_args": (content_type.pk, obj.pk) if moderatable else None,
    }
