"""allauth's account forms in Partage's words: its labels ("Remember Me", "Courriel")
read unlike the rest of the site. Named in ACCOUNT_FORMS; the rules stay allauth's."""

from __future__ import annotations

from allauth.account import forms as allauth_forms
from django.utils.translation import gettext_lazy as _

EMAIL_LABEL = _("Email address")


class LoginForm(allauth_forms.LoginForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = EMAIL_LABEL
        if "remember" in self.fields:
            self.fields["remember"].label = _("Stay logged in on this device")


class SignupForm(allauth_forms.SignupForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = EMAIL_LABEL
        if "password2" in self.fields:
            self.fields["password2"].label = _("Password again")
        # The box that accepts the terms comes last, just above the button.
        self.order_fields([name for name in self.fields if name != "accept_terms"]
                          + ["accept_terms"])


class ResetPasswordForm(allauth_forms.ResetPasswordForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = EMAIL_LABEL
