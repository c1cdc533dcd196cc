"""The ledger in the admin: everything read-only. Time moves only through the services:
limits through account_set_limits, corrections through transfer_reverse, each behind a
confirmation page that asks why."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ledger import services
from ledger.forms import LimitsForm, ReasonForm
from ledger.models import Account, Entry, LimitChange, Transfer


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete, whoever asks (superusers too): ledger rows are history."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class LimitChangeInline(admin.TabularInline):
    model = LimitChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ["at", "changed_by", "old_credit_limit_minutes",
                                "new_credit_limit_minutes", "old_max_balance_minutes",
                                "new_max_balance_minutes", "reason"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _confirmation(request, modeladmin, queryset, form, *, title, template, intro) -> TemplateResponse:
    return TemplateResponse(request, template, {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "objects": queryset,
        "form": form,
        "opts": modeladmin.model._meta,
        "action": request.POST.get("action"),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    })


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["member", "balance_minutes", "credit_limit_minutes", "max_balance_minutes",
                    "created_at"]
    list_select_related = ["member"]
    search_fields = ["member__email", "member__display_name"]
    readonly_fields = ["member", "balance_minutes", "credit_limit_minutes",
                       "max_balance_minutes", "created_at"]
    inlines = [LimitChangeInline]
    actions = ["change_limits"]

    def has_set_limits_permission(self, request: HttpRequest) -> bool:
        # The model admin refuses "change" to everyone; the Django permission still
        # says who may change limits (superusers, or a moderators group given it).
        return request.user.has_perm("ledger.change_account")

    @admin.action(description=_("Change limits of selected accounts"),
                  permissions=["set_limits"])
    def change_limits(self, request: HttpRequest, queryset: QuerySet[Account]):
        form = LimitsForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            changed = 0
            for account in queryset.select_related("member"):
                try:
                    services.account_set_limits(
                        member=account.member,
                        credit_limit_minutes=form.cleaned_data["credit_limit_minutes"],
                        max_balance_minutes=form.cleaned_data["max_balance_minutes"],
                        by=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except services.LedgerError as error:
                    self.message_user(request, f"{account.member}: {' '.join(error.messages)}",
                                      messages.ERROR)
                else:
                    changed += 1
            if changed:
                self.message_user(request, ngettext(
                    "Limits changed for %(count)d account.", "Limits changed for %(count)d accounts.",
                    changed) % {"count": changed}, messages.SUCCESS)
            return None
        return _confirmation(
            request, self, queryset, form, title=_("Change limits"),
            template="ledger/admin_confirm_action.html",
            intro=_("New limits for these accounts. The change is logged with your name and the reason."),
        )


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "from_account", "to_account", "minutes", "reference",
                    "note", "reverses", "created_by"]
    list_select_related = ["from_account__member", "to_account__member", "created_by", "reverses"]
    list_filter = ["created_at"]
    search_fields = ["idempotency_key", "reference", "note", "from_account__member__email",
                     "to_account__member__email"]
    readonly_fields = ["idempotency_key", "from_account", "to_account", "minutes", "note",
                       "reference", "reverses", "created_by", "created_at"]
    date_hierarchy = "created_at"
    actions = ["reverse_transfers"]

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        # Reversing posts a transfer: given to whoever may add transfers (superusers,
        # moderators), although the admin's own add form stays closed.
        return request.user.has_perm("ledger.add_transfer")

    @admin.action(description=_("Reverse selected transfers"), permissions=["reverse"])
    def reverse_transfers(self, request: HttpRequest, queryset: QuerySet[Transfer]):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reversed_count = 0
            for transfer in queryset.order_by("pk"):
                try:
                    services.transfer_reverse(transfer=transfer, by=request.user,
                                              reason=form.cleaned_data["reason"])
                except services.LedgerError as error:
                    self.message_user(request, f"#{transfer.pk}: {' '.join(error.messages)}",
                                      messages.ERROR)
                else:
                    reversed_count += 1
            if reversed_count:
                self.message_user(request, ngettext(
                    "%(count)d transfer reversed.", "%(count)d transfers reversed.",
                    reversed_count) % {"count": reversed_count}, messages.SUCCESS)
            return None
        return _confirmation(
            request, self, queryset, form, title=_("Reverse transfers"),
            template="ledger/admin_confirm_action.html",
            intro=_("Each transfer below gets an opposite transfer naming it. A transfer already reversed is not reversed twice."),
        )


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "account", "minutes", "balance_after", "transfer"]
    list_select_related = ["account__member", "transfer"]
    search_fields = ["account__member__email", "account__member__display_name"]
    readonly_fields = ["transfer", "account", "minutes", "balance_after", "created_at"]


@admin.register(LimitChange)
class LimitChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "account", "changed_by", "old_credit_limit_minutes",
                    "new_credit_limit_minutes", "old_max_balance_minutes",
                    "new_max_balance_minutes", "reason"]
    list_select_related = ["account__member", "changed_by"]
    search_fields = ["account__member__email", "reason"]
    readonly_fields = list_display
