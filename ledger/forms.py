"""Forms of the time bank pages: the statement's period filter, sending hours, and the
two admin confirmation pages. They parse input; the ledger's rules stay in services."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ledger.models import MAX_TRANSFER_MINUTES
from members import contacts
from members.models import Member

_CLOCK = re.compile(r"^(\d+):([0-5]\d)$")
_HOURS_MINUTES = re.compile(r"^(\d+)\s*h\s*(?:(\d{1,2})\s*(?:min|m)?)?$")
_MINUTES = re.compile(r"^(\d+)\s*(?:min|mins|minutes|m)$")
_HOURS = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(?:h|hours?)?$")


def parse_duration(text: str) -> int:
    """Whole minutes from "1.5", "1,5", "1:30", "1h30", "1 h 30", "90 min" or "2 h".
    Raises ValidationError for anything else, for a fraction of a minute, for zero or
    less, and for more than one transfer may move."""
    value = " ".join((text or "").strip().lower().split())
    if not value:
        raise forms.ValidationError(_("Say how long, e.g. 1.5, 1:30 or 90 min."))
    minutes: Decimal | None = None
    if match := _CLOCK.match(value):
        minutes = Decimal(int(match[1]) * 60 + int(match[2]))
    elif match := _HOURS_MINUTES.match(value):
        extra = int(match[2] or 0)
        if extra >= 60:
            raise forms.ValidationError(_("Minutes after the hours go from 0 to 59."))
        minutes = Decimal(int(match[1]) * 60 + extra)
    elif match := _MINUTES.match(value):
        minutes = Decimal(int(match[1]))
    elif match := _HOURS.match(value):
        try:
            minutes = Decimal(match[1].replace(",", ".")) * 60
        except InvalidOperation:
            minutes = None
    if minutes is None:
        if value.startswith("-"):
            raise forms.ValidationError(_("Give a positive duration."))
        raise forms.ValidationError(_("Say how long, e.g. 1.5, 1:30 or 90 min."))
    if minutes != minutes.to_integral_value():
        raise forms.ValidationError(_("Give a whole number of minutes."))
    if minutes <= 0:
        raise forms.ValidationError(_("Give at least one minute."))
    if minutes > MAX_TRANSFER_MINUTES:
        raise forms.ValidationError(
            _("One transfer moves at most %(hours)s hours.") % {"hours": MAX_TRANSFER_MINUTES // 60}
        )
    return int(minutes)


class StatementFilterForm(forms.Form):
    # A context of their own: "From"/"To" are a ride's towns elsewhere.
    date_from = forms.DateField(label=pgettext_lazy("period", "From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=pgettext_lazy("period", "To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date comes after the start date."))
        return cleaned


class SendHoursForm(forms.Form):
    """Who gets the time, how long, and why. The recipient is picked among the members
    one has dealt with (members.contacts), or is the member whose profile's "Send
    hours" link was followed (?to=<id>). No email address is asked for: the answer would
    tell anyone whether an address is registered. The token is made when the form is
    shown; posting it twice posts once."""

    to = forms.ModelChoiceField(
        label=_("Send to"), queryset=Member.objects.none(), empty_label=_("Choose a member"),
        help_text=_("People you have exchanged with or written to. Someone else? Open their "
                    "profile and choose “Send hours”."),
        error_messages={"required": _("Whom do you send time to?"),
                        "invalid_choice": _("This member cannot receive time.")},
    )
    hours = forms.CharField(label=_("How long"), max_length=30,
                            help_text=_("Hours or minutes: 1.5, 1:30 or 90 min."))
    note = forms.CharField(label=_("What for"), max_length=280,
                           widget=forms.Textarea(attrs={"rows": 3}))
    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, payer: Member, recipient_member: Member | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to"]
        # Any active member can be chosen by id (a profile link gives it; ids are public in
        # profile URLs); the ledger refuses oneself with its own message. Only the
        # people one has dealt with are listed.
        field.queryset = Member.objects.filter(is_active=True)
        if recipient_member is None and self.is_bound:
            recipient_member = self._posted_member()
        self.recipient_member = recipient_member
        people = contacts.people_dealt_with(payer)
        if recipient_member is not None and recipient_member.pk not in {m.pk for m in people}:
            people = [recipient_member, *people]
        self.people = people
        field.widget.choices = [("", field.empty_label)] + [(m.pk, m.public_name) for m in people]
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())
            if recipient_member is not None:
                self.initial["to"] = recipient_member.pk

    def _posted_member(self) -> Member | None:
        raw = str(self.data.get(self.add_prefix("to"), ""))
        if not raw.isdigit():
            return None
        return Member.objects.filter(pk=int(raw), is_active=True).first()

    def clean_hours(self) -> int:
        return parse_duration(self.cleaned_data["hours"])

    def clean(self):
        cleaned = super().clean()
        cleaned["payee"] = cleaned.get("to")
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=280,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class LimitsForm(ReasonForm):
    credit_limit_minutes = forms.IntegerField(
        label=_("Credit limit (minutes, zero or below)"), max_value=0,
        help_text=_("−600 is −10 h: how far below zero the balance may go."))
    max_balance_minutes = forms.IntegerField(
        label=_("Maximum balance (minutes)"), min_value=0,
        help_text=_("2400 is 40 h."))
