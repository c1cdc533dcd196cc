from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from moderation.models import ReportReason


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why do you report it?"),
        choices=[c for c in ReportReason.choices if c[0] != ReportReason.APPEAL],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose why you report it.")},
    )
    note = forms.CharField(
        label=_("What happened (optional)"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the moderators read this."),
    )


class AppealForm(forms.Form):
    note = forms.CharField(
        label=_("Why should the moderators look again?"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only the moderators read this. Say what they may have missed."),
        error_messages={"required": _("Say in a few words why they should look again.")},
    )


class ReasonForm(forms.Form):
    """The reason a moderator gives for an action (kept in the audit log)."""

    reason = forms.CharField(label=_("Reason"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class SuspendForm(ReasonForm):
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=365, initial=7)


class CaptureForm(ReasonForm):
    amount_cents = forms.IntegerField(label=_("Amount to keep (cents)"), min_value=1)
