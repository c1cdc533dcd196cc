"""Chat forms: a message (the plain form the page works with, without JavaScript) and
the answer to a wanted post. They check shape; messaging.conversations decides."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import Member
from messaging.conversations import attachable_listings
from messaging.models import MESSAGE_MAX_LENGTH


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), max_length=MESSAGE_MAX_LENGTH, strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MESSAGE_MAX_LENGTH}),
        error_messages={"required": _("Write a message.")},
    )
    # Made when the page is rendered: submitting the same page twice stores one message.
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class WantedAnswerForm(MessageForm):
    attached_listing = forms.ModelChoiceField(
        label=_("Offer one of your listings (optional)"), queryset=None, required=False,
        empty_label=_("No listing"),
    )

    def __init__(self, *args, responder: Member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attached_listing"].queryset = attachable_listings(responder).order_by("title")
        self.fields["body"].label = _("Your answer")
        self.order_fields(["body", "attached_listing", "client_id"])
