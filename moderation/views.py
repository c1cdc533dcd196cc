"""Members' side of moderation: reporting something, and reading a warning."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core import once
from core.ratelimit import limit_posts
from moderation import services, targets
from moderation.forms import AppealForm, ReportForm
from moderation.models import Warning


def _get_reportable(request: HttpRequest, kind_key: str, pk: int):
    """The target, if the kind exists and the member may see it; 404 otherwise."""
    kind = targets.KINDS.get(kind_key)
    model = kind.model if kind else None
    if model is None:
        raise Http404
    target = model._default_manager.filter(pk=pk).first()
    if target is None or not kind.visible_to(target, request.user):
        raise Http404
    return kind, target


def _show_refusal(form, error: services.ModerationError) -> None:
    """A service's refusal next to the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("report")
def report_create(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    target_kind, target = _get_reportable(request, kind, pk)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = once.submit_once(
                member=request.user, token=once.token_from(request), action="report_create",
                create=lambda: services.report_create(
                    reporter=request.user, target=target,
                    reason=form.cleaned_data["reason"], note=form.cleaned_data["note"],
                ),
                url_of=lambda _report: services._public_url(target) or reverse("home"),
            )
        except services.ModerationError as error:
            _show_refusal(form, error)
        else:
            if sent.replayed:
                once.tell_replayed(request)
            else:
                messages.success(request, _("Thank you. The moderators will look at your report."))
            return redirect(sent.url)
    return render(request, "moderation/report.html", {
        "form": form,
        "target": target,
        "target_kind": target_kind,
        "back_url": services._public_url(target),
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("report")
def appeal_create(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The owner of something a moderator removed asks them to look again. Anyone else,
    and anything not removed, gets a 404."""
    target_kind = targets.KINDS.get(kind)
    model = target_kind.model if target_kind else None
    target = model._default_manager.filter(pk=pk).first() if model else None
    if (target is None or target_kind.is_hidden is None or not target_kind.is_hidden(target)
            or getattr(target_kind.owner_of(target), "pk", None) != request.user.pk):
        raise Http404
    form = AppealForm(request.POST or None)
    back_url = services._public_url(target) or reverse("home")
    if request.method == "POST" and form.is_valid():
        try:
            sent = once.submit_once(
                member=request.user, token=once.token_from(request), action="removal_appeal",
                create=lambda: services.removal_appeal(
                    member=request.user, target=target, note=form.cleaned_data["note"]),
                url_of=lambda _report: back_url,
            )
        except services.ModerationError as error:
            _show_refusal(form, error)
        else:
            if sent.replayed:
                once.tell_replayed(request)
            else:
                messages.success(request, _(
                    "Your appeal is sent. A moderator will look again and you will be told."))
            return redirect(sent.url)
    return render(request, "moderation/appeal.html", {
        "form": form, "target": target, "back_url": back_url, "kind": kind, "pk": pk,
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET"])
def warning(request: HttpRequest) -> HttpResponse:
    pending = Warning.objects.filter(member=request.user, acknowledged_at__isnull=True)
    return render(request, "moderation/warning.html", {"warnings": pending})


@login_required
@require_POST
@limit_posts("account_settings")
def warning_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    item = Warning.objects.filter(pk=pk, member=request.user).first()
    if item is None:
        raise Http404
    services.warning_acknowledge(warning=item, by=request.user)
    if Warning.objects.filter(member=request.user, acknowledged_at__isnull=True).exists():
        return redirect("moderation:warning")
    messages.success(request, _("Thank you for reading it."))
    return redirect("home")
