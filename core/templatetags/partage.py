from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def money(cents: int | None) -> str:
    """Integer cents shown as euros: 1250 -> '12.50 €' ('12,50 €' in French)."""
    if cents is None:
        return ""
    if cents == 0:
        return _("free")
    return f"{number_format(cents / 100, decimal_pos=2)} €"


@register.filter
def hours(minutes: int | None) -> str:
    """Ledger minutes shown as hours and minutes: 90 -> '1 h 30'."""
    if minutes is None:
        return ""
    sign = "−" if minutes < 0 else ""
    whole, rest = divmod(abs(int(minutes)), 60)
    if whole and rest:
        return f"{sign}{whole} h {rest:02d}"
    if whole:
        return f"{sign}{whole} h"
    return f"{sign}{rest} min"


@register.filter
def km(distance: float | None) -> str:
    if distance is None:
        return ""
    if distance < 1:
        return _("under 1 km")
    return ngettext("about %(km)s km", "about %(km)s km", round(distance)) % {
        "km": number_format(round(distance, 1) if distance < 10 else round(distance))
    }


@register.simple_tag(takes_context=True)
def query_replace(context, **changes) -> str:
    """The current querystring with some keys replaced (for pagination and sorting)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def once_token() -> str:
    """The hidden one-time token of a creation form (core/once.py). Fresh on every
    render: a page showing several forms, or shown again after an error, never gives two
    sends the same token."""
    from django.utils.html import format_html

    from core import once

    return format_html('<input type="hidden" name="{}" value="{}">', once.FIELD, once.new_token())
