"""Forms of the members pages. They check the shape of the input; the services in
members/services.py hold the rules (image decoding, gazetteer, consent)."""

from __future__ import annotations

import math

from django import forms
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members.models import Member


class SignupExtraForm(forms.Form):
    """Extra fields on allauth's sign-up form."""

    display_name = forms.CharField(
        label=_("Display name"), max_length=60,
        help_text=_("How neighbours will see you, for example “Alice M.”"),
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )

    accept_terms = forms.BooleanField(
        required=True,
        error_messages={"required": _(
            "To join, accept the terms of use and the privacy notice (tick the box)."
        )},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Links in the label: the texts are one tap away from the box that accepts them.
        self.fields["accept_terms"].label = format_html(
            _('I accept the <a href="{terms}">terms of use</a> and have read the '
              '<a href="{privacy}">privacy notice</a>.'),
            terms=reverse("terms"), privacy=reverse("privacy"),
        )

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError(_("Choose a name neighbours will see."))
        return name

    def signup(self, request, user: Member) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.terms_accepted_at = timezone.now()
        user.save(update_fields=["display_name", "terms_accepted_at"])


class ProfileForm(forms.ModelForm):
    """The public profile. The avatar is only checked for presence here: the service
    decodes and re-encodes it and reports a bad image on this field."""

    avatar = forms.FileField(
        label=_("Photo"), required=False,
        help_text=_("JPEG, PNG or WebP, up to 10 MB. We remove the photo's metadata."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label=_("Remove my photo"), required=False)

    class Meta:
        model = Member
        fields = ["display_name", "bio", "neighbourhood", "languages"]
        widgets = {
            "display_name": forms.TextInput(attrs={"autocomplete": "nickname"}),
            "bio": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "display_name": _("How neighbours will see you, for example “Alice M.”"),
            "bio": _("A few words for your neighbours: what you like to share, when you are around."),
            "neighbourhood": _("For example: Vieille Ville. Shown on your profile."),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Without a name, the profile would fall back to part of the email address.
        self.fields["display_name"].required = True

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError(_("Choose a name neighbours will see."))
        return name

    def clean(self):
        data = super().clean()
        if data.get("avatar") and data.get("remove_avatar"):
            self.add_error(
                "remove_avatar", _("Either upload a new photo or remove the current one.")
            )
        return data


def _coordinate(value: str) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class LocationForm(forms.Form):
    """Either a town from the gazetteer, or coordinates filled in by the browser's
    geolocation; consent is required every time a location is shared."""

    town = forms.CharField(
        label=_("Town"), max_length=120, required=False,
        help_text=_("Start typing, then pick your town, for example: Annecy"),
        widget=forms.TextInput(attrs={
            "list": "town-suggestions",
            "autocomplete": "off",
            # htmx refreshes the datalist as the member types; without JavaScript the
            # field still takes a typed town name.
            "hx-get": reverse_lazy("members:towns"),
            "hx-trigger": "input changed delay:250ms",
            "hx-target": "#town-suggestions",
            "hx-swap": "innerHTML",
        }),
    )
    # Hidden and filled by static/js/partage.js ([data-geolocate]); parsed in clean()
    # so a bad value gets a message a person can act on, not "(Hidden field lat) …".
    lat = forms.CharField(required=False, widget=forms.HiddenInput)
    lng = forms.CharField(required=False, widget=forms.HiddenInput)
    consent = forms.BooleanField(
        label=_("I agree that Partage stores my location to show nearby listings. "
                "Others only ever see it rounded to about 500 m. "
                "I can withdraw this at any time."),
        required=True,
        error_messages={"required": _("Tick the box to agree before sharing your location.")},
    )

    def clean(self):
        data = super().clean()
        town = (data.get("town") or "").strip()
        data["town"] = town
        raw_lat, raw_lng = data.get("lat"), data.get("lng")
        data["lat"] = data["lng"] = None
        if town:
            # The town wins: the geolocate button clears it when it fills the point.
            return data
        if not raw_lat and not raw_lng:
            raise forms.ValidationError(
                _("Choose a town or share your position."), code="missing"
            )
        lat, lng = _coordinate(raw_lat), _coordinate(raw_lng)
        if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise forms.ValidationError(
                _("Your position could not be read. Try again, or pick a town instead."),
                code="invalid_position",
            )
        data["lat"], data["lng"] = lat, lng
        return data
