"""Form widgets of the search form that render in Python.

Django renders every widget, and every <option> of a select, through a template: the
search form's thirteen fields (one select with every category) took longer to render
than the 20 result cards. These widgets write the same HTML as Django's own templates
(tests/listings/test_widgets.py compares them) with format_html instead.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> SafeString:
    # As django/forms/widgets/attrs.html: True is a bare attribute, False is left out.
    return format_html_join(
        "", "{}", ((format_html(" {}", name) if value is True
                    else format_html(' {}="{}"', name, value),)
                   for name, value in attrs.items() if value is not False)
    )


class QuickInputMixin:
    def render(self, name: str, value: Any, attrs: dict | None = None,
               renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        value_part = (format_html(' value="{}"', widget["value"])
                      if widget["value"] is not None else "")
        return format_html('<input type="{}" name="{}"{}{}>', widget["type"], widget["name"],
                           value_part, _attrs(widget["attrs"]))


class QuickTextInput(QuickInputMixin, forms.TextInput):
    pass


class QuickDateInput(QuickInputMixin, forms.DateInput):
    pass


class QuickSelect(forms.Select):
    def render(self, name: str, value: Any, attrs: dict | None = None,
               renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = []
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                # Not used by the search form; Django's own template knows optgroups.
                return super().render(name, value, attrs, renderer)
            options.extend(
                format_html('\n  <option value="{}"{}>{}</option>', option["value"],
                            _attrs(option["attrs"]), option["label"])
                for option in group_choices
            )
        return format_html('<select name="{}"{}>{}\n</select>', widget["name"],
                           _attrs(widget["attrs"]), mark_safe("".join(options)))
