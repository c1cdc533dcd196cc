"""Moderation in the admin: reports grouped by target with actions, the read-only audit
log, warnings, the dashboard, and one "moderate" page per target with its buttons.
Every button goes through moderation.services (which checks the moderator again)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from moderation import dashboard, services, targets
from moderation.forms import CaptureForm, ReasonForm, SuspendForm
from moderation.models import ModerationAction, Report, ReportStatus, Warning

# Messages shown on each side of a reported one: enough to see who started what.
MESSAGE_CONTEXT = 10


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("Only moderators can do this.")


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def moderate_url(obj) -> str:
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    return reverse("admin:moderation_moderate", args=[content_type.pk, obj.pk])


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["created_at", "reason", "target_link", "same_target", "reporter", "status",
                    "handled_by"]
    # Only the kinds and members that have reports, not every model and member there is.
    list_filter = ["status", "reason", ("content_type", admin.RelatedOnlyFieldListFilter),
                   "created_at", ("target_owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["target_label", "note", "reporter__email", "target_owner__email"]
    list_select_related = ["reporter", "handled_by"]
    readonly_fields = ["reporter", "content_type", "object_id", "target_label", "target_owner",
                       "reason", "note", "status", "handled_by", "handled_at", "handling_note",
                       "created_at", "moderate_link"]
    date_hierarchy = "created_at"
    actions = ["resolve_reports", "dismiss_reports"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: a report changes only by being resolved or dismissed,
        # here (the forms under the report), in bulk (the actions) or on its target's
        # moderation page. No Save button.
        report = self.get_object(request, object_id)
        handling = None
        if report is not None and report.status == ReportStatus.OPEN:
            do = request.POST.get("do") if request.method == "POST" else None
            handling = {name: ReasonForm(request.POST if do == name else None, prefix=name)
                        for name in ("resolve", "dismiss")}
            if do in handling:
                if not self.has_change_permission(request, report):
                    raise PermissionDenied
                form = handling[do]
                if form.is_valid():
                    service = services.report_resolve if do == "resolve" else services.report_dismiss
                    try:
                        service(report=report, by=request.user, note=form.cleaned_data["reason"])
                    except (ValidationError, PermissionDenied) as error:
                        self.message_user(request, _error_text(error), messages.ERROR)
                    else:
                        self.message_user(request, _("Done: it is recorded in the audit log."),
                                          messages.SUCCESS)
                    return redirect(request.path)
                # Show the page again with the form's errors; the admin's own form (all
                # read-only) must not take this POST as a save.
                request.method = "GET"
        extra_context = {**(extra_context or {}), "show_save": False,
                         "show_save_and_continue": False, "handling_forms": handling}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard_view),
                 name="moderation_dashboard"),
            path("moderate/<int:content_type_id>/<int:object_id>/",
                 self.admin_site.admin_view(self.moderate_view), name="moderation_moderate"),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("reported"))
    def target_link(self, obj: Report) -> str:
        return format_html('<a href="{}">{}</a>', reverse(
            "admin:moderation_moderate", args=[obj.content_type_id, obj.object_id]
        ), obj.target_label)

    @admin.display(description=gettext_lazy("reports on it"))
    def same_target(self, obj: Report) -> str:
        count = Report.objects.filter(content_type_id=obj.content_type_id,
                                      object_id=obj.object_id).count()
        url = reverse("admin:moderation_report_changelist") + (
            f"?content_type__id__exact={obj.content_type_id}&object_id={obj.object_id}"
        )
        return format_html('<a href="{}">{}</a>', url, count)

    @admin.display(description=gettext_lazy("moderate"))
    def moderate_link(self, obj: Report) -> str:
        return format_html('<a class="button" href="{}">{}</a>', reverse(
            "admin:moderation_moderate", args=[obj.content_type_id, obj.object_id]
        ), _("Open the moderation page"))

    def _handle(self, request, queryset, service, title: str):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done = 0
            for report in queryset:
                try:
                    service(report=report, by=request.user, note=form.cleaned_data["reason"])
                except (ValidationError, PermissionDenied) as error:
                    self.message_user(request, f"{report}: {_error_text(error)}", messages.ERROR)
                else:
                    done += 1
            if done:
                self.message_user(request, ngettext("%(count)d report handled.",
                                                    "%(count)d reports handled.", done)
                                  % {"count": done}, messages.SUCCESS)
            return None
        return TemplateResponse(request, "ledger/admin_confirm_action.html", {
            **self.admin_site.each_context(request),
            "title": title, "intro": _("The note is kept with the report and in the audit log."),
            "objects": queryset, "form": form, "opts": self.model._meta,
            "action": request.POST.get("action"), "action_checkbox_name": ACTION_CHECKBOX_NAME,
        })

    @admin.action(description=gettext_lazy("Resolve selected reports"), permissions=["change"])
    def resolve_reports(self, request: HttpRequest, queryset: QuerySet[Report]):
        return self._handle(request, queryset, services.report_resolve, _("Resolve reports"))

    @admin.action(description=gettext_lazy("Dismiss selected reports"), permissions=["change"])
    def dismiss_reports(self, request: HttpRequest, queryset: QuerySet[Report]):
        return self._handle(request, queryset, services.report_dismiss, _("Dismiss reports"))

    # --- The dashboard ------------------------------------------------------------------

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        dates, series = dashboard.daily_series()
        return TemplateResponse(request, "moderation/admin_dashboard.html", {
            **self.admin_site.each_context(request),
            "title": _("Moderation dashboard"),
            "opts": self.model._meta,
            "figures": dashboard.figures(),
            "by_age": dashboard.open_reports_by_age(),
            "by_target": dashboard.open_reports_by_target(),
            "several": dashboard.members_with_several_reports(),
            "chart": dashboard.chart_svg(dates, series),
        })

    # --- One target: its reports, its history and the buttons ----------------------------

    def _target(self, content_type_id: int, object_id: int):
        try:
            content_type = ContentType.objects.get_for_id(content_type_id)
        except ContentType.DoesNotExist as error:
            raise Http404 from error
        model = content_type.model_class()
        # Only what moderators moderate: any other content type is not found, so the page
        # cannot be used to read a member's sessions, addresses or authenticators.
        if not targets.moderation_page_allows(model):
            raise Http404
        target = model._default_manager.filter(pk=object_id).first()
        if target is None:
            raise Http404
        return content_type, target

    def _forms_for(self, target, data=None, open_reports: bool = False) -> dict:
        kind = targets.kind_of(target)
        label = target._meta.label
        forms: dict = {}
        if open_reports:
            forms["resolve_reports"] = ReasonForm(data, prefix="resolve")
            forms["dismiss_reports"] = ReasonForm(data, prefix="dismiss")
        if kind is not None and kind.hide is not None:
            forms["restore" if kind.is_hidden(target) else "hide"] = ReasonForm(data, prefix="hide")
        if kind is not None and kind.key == "member":
            forms["warn"] = ReasonForm(data, prefix="warn")
            forms["suspend"] = SuspendForm(data, prefix="suspend")
            forms["ban"] = ReasonForm(data, prefix="ban")
            if target.is_banned or target.is_suspended:
                forms["reinstate"] = ReasonForm(data, prefix="reinstate")
        elif self._author(target) is not None:
            # Whoever wrote a listing, review or message can be warned or suspended from
            # it, where the moderator just read what they wrote; banning and lifting stay
            # on the member's own page, with their whole record.
            forms["warn_author"] = ReasonForm(data, prefix="warn")
            forms["suspend_author"] = SuspendForm(data, prefix="suspend")
        if label == "exchanges.Exchange":
            forms["settle_complete"] = ReasonForm(data, prefix="complete")
            forms["settle_cancel"] = ReasonForm(data, prefix="cancel")
            forms["capture"] = CaptureForm(data, prefix="capture")
            forms["reverse"] = ReasonForm(data, prefix="reverse")
        return forms

    @staticmethod
    def _author(target):
        """The member whose listing, review or message this is (None for a member, an
        exchange, or a message whose sender deleted their account)."""
        kind = targets.kind_of(target)
        if kind is None or kind.key == "member":
            return None
        return kind.owner_of(target)

    def _run(self, request, name: str, target, form):
        data, by = form.cleaned_data, request.user
        calls = {
            "resolve_reports": lambda: services.reports_on_target_handle(
                target=target, by=by, note=data["reason"], resolve=True),
            "dismiss_reports": lambda: services.reports_on_target_handle(
                target=target, by=by, note=data["reason"], resolve=False),
            "hide": lambda: services.content_hide(target=target, by=by, reason=data["reason"]),
            "restore": lambda: services.content_restore(target=target, by=by, reason=data["reason"]),
            "warn": lambda: services.member_warn(member=target, by=by, reason=data["reason"]),
            "suspend": lambda: services.member_suspend(member=target, by=by, days=data["days"],
                                                       reason=data["reason"]),
            "warn_author": lambda: services.member_warn(
                member=self._author(target), by=by, reason=data["reason"]),
            "suspend_author": lambda: services.member_suspend(
                member=self._author(target), by=by, days=data["days"], reason=data["reason"]),
            "ban": lambda: services.member_ban(member=target, by=by, reason=data["reason"]),
            "reinstate": lambda: services.member_reinstate(member=target, by=by,
                                                           reason=data["reason"]),
            "settle_complete": lambda: services.exchange_settle_complete(
                exchange=target, by=by, reason=data["reason"]),
            "settle_cancel": lambda: services.exchange_settle_cancel(
                exchange=target, by=by, reason=data["reason"]),
            "capture": lambda: services.deposit_capture(
                exchange=target, by=by, amount_cents=data["amount_cents"], reason=data["reason"]),
            "reverse": lambda: services.transfer_reverse(
                transfer=self._exchange_transfer(target, request.POST.get("transfer")), by=by,
                reason=data["reason"]),
        }
        return calls[name]()

    def _exchange_transfer(self, exchange, transfer_id):
        from ledger.models import Transfer

        transfer = Transfer.objects.filter(
            pk=transfer_id if str(transfer_id or "").isdigit() else 0,
            reference=f"exchange:{exchange.pk}",
        ).first()
        if transfer is None:
            raise services.ModerationError(_("Choose a transfer of this exchange."))
        return transfer

    def _admin_change_url(self, request: HttpRequest, target) -> str:
        # Messages and conversations have no admin page: link only to one that exists
        # and that this moderator may open.
        model_admin = self.admin_site._registry.get(type(target))
        if model_admin is None or not model_admin.has_view_permission(request, target):
            return ""
        opts = target._meta
        try:
            return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[target.pk])
        except NoReverseMatch:
            return ""

    def _message_context(self, message) -> dict:
        """What a moderator needs to judge a message: its conversation (what it is
        about, who is in it) and the messages just before and after, hidden ones too."""
        conversation = message.conversation
        around = conversation.messages.select_related("sender")
        before = list(around.filter(pk__lt=message.pk).order_by("-pk")[:MESSAGE_CONTEXT])
        after = list(around.filter(pk__gt=message.pk).order_by("pk")[:MESSAGE_CONTEXT])
        listing = conversation.listing
        exchange = conversation.exchange
        return {
            "conversation": conversation,
            "participants": [
                {"participant": p, "moderate_url": moderate_url(p.member)}
                for p in conversation.participants.select_related("member").order_by("joined_at", "pk")
            ],
            "thread": [*reversed(before), message, *after],
            "more_before": around.filter(pk__lt=before[-1].pk).exists() if before else False,
            "more_after": around.filter(pk__gt=after[-1].pk).exists() if after else False,
            "listing": listing,
            "listing_moderate_url": moderate_url(listing) if listing is not None else "",
            "exchange": exchange,
            "exchange_moderate_url": moderate_url(exchange) if exchange is not None else "",
            "attached_listing": message.attached_listing,
            "attached_moderate_url": (moderate_url(message.attached_listing)
                                      if message.attached_listing is not None else ""),
        }

    def moderate_view(self, request: HttpRequest, content_type_id: int, object_id: int) -> HttpResponse:
        if not services.is_moderator(request.user):
            raise PermissionDenied
        content_type, target = self._target(content_type_id, object_id)
        action = request.POST.get("do") if request.method == "POST" else None
        reports = Report.objects.filter(content_type=content_type, object_id=target.pk)
        has_open = reports.filter(status=ReportStatus.OPEN).exists()
        forms = self._forms_for(target, request.POST if action else None, has_open)
        if action:
            form = forms.get(action)
            if form is None:
                raise Http404
            if form.is_valid():
                try:
                    self._run(request, action, target, form)
                except (ValidationError, PermissionDenied) as error:
                    self.message_user(request, _error_text(error), messages.ERROR)
                else:
                    self.message_user(request, _("Done: it is recorded in the audit log."),
                                      messages.SUCCESS)
                    return redirect(request.path)
            # Only the submitted form shows its errors; the others start empty.
            forms = {**self._forms_for(target, open_reports=has_open), action: form}
        history = ModerationAction.objects.filter(content_type=content_type, object_id=target.pk)
        transfers = []
        if content_type.app_label == "exchanges" and content_type.model == "exchange":
            from ledger.models import Transfer

            transfers = Transfer.objects.filter(reference=f"exchange:{target.pk}", reverses__isnull=True)
        kind = targets.kind_of(target)
        owner = kind.owner_of(target) if kind is not None else None
        return TemplateResponse(request, "moderation/admin_moderate.html", {
            "kind": kind,
            "admin_url": self._admin_change_url(request, target),
            "message": self._message_context(target) if kind and kind.key == "message" else None,
            **self.admin_site.each_context(request),
            "title": _("Moderate: %(target)s") % {"target": targets.target_label(target)},
            "opts": self.model._meta,
            "target": target,
            "content_type": content_type,
            "forms": forms,
            "reports": reports.select_related("reporter", "handled_by"),
            "history": history.select_related("moderator"),
            "events": getattr(target, "events", None) and target.events.select_related("actor"),
            "transfers": transfers,
            # The member behind a listing, review or message, one click away.
            "owner": owner if owner is not None and owner != target else None,
            "owner_moderate_url": moderate_url(owner) if owner is not None and owner != target else "",
        })


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "moderator", "action", "target_label", "reason"]
    list_filter = ["action", "content_type", "created_at"]
    search_fields = ["target_label", "reason", "moderator__email"]
    list_select_related = ["moderator"]
    readonly_fields = ["created_at", "moderator", "action", "content_type", "object_id",
                       "target_label", "reason", "details"]
    date_hierarchy = "created_at"


@admin.register(Warning)
class WarningAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "member", "issued_by", "acknowledged_at"]
    list_filter = ["acknowledged_at", "created_at"]
    search_fields = ["member__email", "reason"]
    list_select_related = ["member", "issued_by"]
    readonly_fields = ["member", "issued_by", "reason", "created_at", "acknowledged_at"]
