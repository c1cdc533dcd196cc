"""My data: download everything as a ZIP, and delete my account."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.ratelimit import limit_posts
from members import deletion, export, selectors, services
from members.models import ConsentRecord


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label=gettext_lazy("Your password"), widget=forms.PasswordInput,
                               strip=False)
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that my personal data is erased for good."),
    )

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.member.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password


def _my_data_page(request: HttpRequest, *, form: DeleteAccountForm | None = None,
                  blockers: list | None = None, status: int = 200) -> HttpResponse:
    # One place builds the page, so a refused deletion shows every section again.
    member = request.user
    return render(request, "members/my_data.html", {
        "blockers": deletion.account_delete_blockers(member) if blockers is None else blockers,
        "form": form or DeleteAccountForm(member=member),
        "consents": selectors.consent_states(member),
    }, status=status)


@login_required
@require_GET
def my_data(request: HttpRequest) -> HttpResponse:
    return _my_data_page(request)


CONSENT_CHANGED = {
    (ConsentRecord.Kind.LOCATION, False): gettext_lazy(
        "Your location is erased and your consent withdrawn."),
    (ConsentRecord.Kind.EMAIL, True): gettext_lazy("Partage may email you again."),
    (ConsentRecord.Kind.EMAIL, False): gettext_lazy(
        "Partage sends you no more optional emails."),
    (ConsentRecord.Kind.PUBLIC_PROFILE, True): gettext_lazy(
        "Your profile is now shown to everyone."),
    (ConsentRecord.Kind.PUBLIC_PROFILE, False): gettext_lazy(
        "Your profile is now shown to signed-in members only."),
}


@login_required
@require_POST
@limit_posts("account_settings")
def consent_update(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    granted = request.POST.get("granted") == "yes"
    if kind == ConsentRecord.Kind.LOCATION and granted:
        return redirect("members:location")  # giving it needs a town
    if (kind, granted) not in CONSENT_CHANGED:
        return HttpResponse(_("There is no such consent."), status=400)
    services.member_set_consent(member=request.user, kind=kind, granted=granted)
    messages.success(request, CONSENT_CHANGED[(kind, granted)])
    return redirect(reverse("members:my-data") + "#consents-heading")


@login_required
@require_POST
@limit_posts("data_export")
def export_start(request: HttpRequest) -> HttpResponse:
    """One click: a fresh link that works for an hour, for this member only."""
    token = export.export_token(request.user)
    return redirect("members:export-download", token=token)


@never_cache
@login_required
@require_GET
def export_download(request: HttpRequest, token: str) -> HttpResponse:
    if not export.export_token_valid_for(token, request.user):
        raise Http404
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response = StreamingHttpResponse(export.export_stream(request.user),
                                     content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="partage-data-{stamp}.zip"'
    return response


@login_required
@require_http_methods(["POST"])
@limit_posts("account_delete")
def account_delete(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST, member=request.user)
    if not form.is_valid():
        return _my_data_page(request, form=form, status=400)
    try:
        deletion.account_delete(member=request.user)
    except deletion.AccountNotDeletable as refused:
        return _my_data_page(request, form=form, blockers=refused.blockers, status=409)
    logout(request)
    messages.success(request, _("Your account is deleted and your personal data erased. Goodbye!"))
    return redirect(reverse("home"))
