"""{% load ledger_tags %}: the time bank's figures on other apps' pages (the members app
shows them without importing the ledger)."""

from __future__ import annotations

from django import template
from django.utils.translation import pgettext

from ledger import references, selectors

register = template.Library()


@register.inclusion_tag("ledger/_given_received.html", takes_context=True)
def hours_given_received(context, member) -> dict:
    """Hours the member gave and received (never the balance), and a "Send hours" link
    for a logged-in visitor who is someone else."""
    user = context.get("user")
    return {
        "member": member,
        "totals": selectors.hours_given_received(member),
        "can_send": bool(user and user.is_authenticated and user.pk != member.pk),
    }


@register.filter
def reference_url(reference: str) -> str | None:
    """The page of what caused a transfer ("exchange:42"), when its app links it."""
    return references.url_for(reference)


@register.filter
def reference_label(reference: str) -> str:
    """What a transfer without a page of its own was for, in the reader's language (a
    gift of hours); any other reference as it is."""
    labels = {"gift": pgettext("a transfer of hours", "gift")}
    return labels.get(reference, reference)
