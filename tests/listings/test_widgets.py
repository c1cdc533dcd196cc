"""The search form's Python-rendered widgets write what Django's templates write."""

from __future__ import annotations

import pytest
from django import forms
from django.http import QueryDict
from django.test.html import parse_html

from listings.filters import ListingFilter
from listings.models import Listing
from listings.widgets import QuickDateInput, QuickSelect, QuickTextInput

pytestmark = pytest.mark.django_db

TEMPLATE_WIDGET = {QuickSelect: forms.Select, QuickTextInput: forms.TextInput,
                   QuickDateInput: forms.DateInput}


@pytest.mark.parametrize("querystring", [
    "",
    "q=drill&kind=item&terms=sell&category=power-tools&price_min=2,50&price_max=lots"
    "&near=Annecy&radius=25&date=2026-05-01&min_rating=4&sort=price",
    'q="a <b> & c"&near=Nowhere-sur-Rien&radius=3&date=nope',
])
def test_every_field_renders_as_djangos_template_would(querystring):
    form = ListingFilter(QueryDict(querystring), queryset=Listing.objects.all()).form
    form.is_valid()
    checked = 0
    for bound in form:
        widget = bound.field.widget
        template_class = TEMPLATE_WIDGET[type(widget)]
        quick = bound.as_widget()
        # The same widget, rendered by Django's own template path.
        attrs = bound.build_widget_attrs({})
        if bound.auto_id and "id" not in widget.attrs:
            attrs.setdefault("id", bound.auto_id)
        reference = template_class.render(widget, bound.html_name, bound.value(), attrs)
        assert parse_html(quick) == parse_html(reference), bound.name
        checked += 1
    assert checked == len(form.fields) >= 12
