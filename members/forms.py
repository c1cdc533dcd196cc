from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from members.models import Member


class SignupExtraForm(forms.Form):
    """Extra fields on allauth's sign-up form."""

    display_name = forms.CharField(
        label=_("Display name"), max_length=60,
        help_text=_("How neighbours will see you, for example “Alice M.”"),
    )

    def signup(self, request, user: Member) -> None:
        user.display_name = self.cleaned_data["display_name"].strip()
        user.save(update_fields=["display_name"])


class ProfileForm(forms.ModelForm):
    avatar = forms.FileField(
        label=_("Photo"), required=False,
        help_text=_("JPEG, PNG or WebP, up to 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label=_("Remove my photo"), required=False)

    class Meta:
        model = Member
        fields = ["display_name", "bio", "neighbourhood", "languages"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}

    def clean_avatar(self):
        upload = self.cleaned_data.get("avatar")
        if upload:
            from core.images import open_verified

            upload.seek(0)
            open_verified(upload.read(settings.IMAGE_MAX_BYTES + 1))
            upload.seek(0)
        return upload


class LocationForm(forms.Form):
    """Either a town from the gazetteer, or coordinates filled in by the browser."""

    town = forms.CharField(
        label=_("Town"), max_length=120, required=False,
        help_text=_("For example: Annecy"),
        widget=forms.TextInput(attrs={"list": "town-suggestions", "autocomplete": "off"}),
    )
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    consent = forms.BooleanField(
        label=_("I agree that Partage stores my location to show nearby listings. "
                "Others only ever see it rounded to about 500 m."),
        required=True,
    )

    def clean(self):
        data = super().clean()
        if not data.get("town") and (data.get("lat") is None or data.get("lng") is None):
            raise forms.ValidationError(_("Choose a town or share your position."))
        return data
