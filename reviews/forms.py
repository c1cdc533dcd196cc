"""The review and reply forms. The services check everything again: a form only gives
the member their errors next to the fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reviews.models import MAX_TEXT

# Best first, as people read a scale; each label says the number for screen readers.
RATING_CHOICES = [
    (5, _("5 stars: excellent")),
    (4, _("4 stars: good")),
    (3, _("3 stars: all right")),
    (2, _("2 stars: disappointing")),
    (1, _("1 star: bad")),
]

TEXT_ERRORS = {
    "required": _("Write a few words: the text cannot be empty."),
    "max_length": _("Keep it to %(limit_value)d characters (it has %(show_value)d)."),
}


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"), choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating from 1 to 5 stars."),
            "invalid_choice": _("Choose a rating from 1 to 5 stars."),
        },
    )
    text = forms.CharField(
        label=_("Your review (optional)"), max_length=MAX_TEXT, required=False,
        error_messages=TEXT_ERRORS, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Stars alone are fine; a few words help others. Up to 2,000 characters. "
                    "Only you can read it until the other member reviews you too, or the "
                    "14 days are over."),
    )


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("Your public reply"), max_length=MAX_TEXT, error_messages=TEXT_ERRORS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("You can reply once; everyone who reads the review sees it."),
    )
