"""Moderators read deals here. Exchanges change state only through their services, so
the state and the timeline are read-only in the admin."""

from django.contrib import admin

from exchanges.models import (
    BlockedPeriod,
    ConnectedAccount,
    Exchange,
    ExchangeEvent,
    LoanExtension,
    Payment,
    StripeEvent,
)


class ExchangeEventInline(admin.TabularInline):
    model = ExchangeEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor", "action", "from_state", "to_state", "note")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LoanExtensionInline(admin.TabularInline):
    model = LoanExtension
    extra = 0
    can_delete = False
    fields = ("created_at", "new_end_date", "state", "note", "decided_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    list_display = ("id", "listing", "kind", "state", "asker", "owner", "start_date",
                    "end_date", "seats", "amount_cents", "requested_at")
    list_filter = ("kind", "state", "pay_in_person")
    search_fields = ("listing__title", "asker__email", "owner__email")
    list_select_related = ("listing", "asker", "owner")
    raw_id_fields = ("listing", "asker", "owner", "offered_listings")
    readonly_fields = ("state", "kind", "blocked_until", "requested_at", "updated_at",
                       "expires_at", "last_reminder_on")
    date_hierarchy = "requested_at"
    inlines = [ExchangeEventInline, LoanExtensionInline]


@admin.register(ExchangeEvent)
class ExchangeEventAdmin(admin.ModelAdmin):
    list_display = ("exchange", "action", "from_state", "to_state", "actor", "at")
    list_filter = ("action", "to_state")
    search_fields = ("exchange__listing__title", "actor__email")
    list_select_related = ("exchange__listing", "actor")
    raw_id_fields = ("exchange", "actor")

    # The audit trail is append-only.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BlockedPeriod)
class BlockedPeriodAdmin(admin.ModelAdmin):
    list_display = ("listing", "start_date", "end_date", "note")
    search_fields = ("listing__title", "listing__owner__email")
    raw_id_fields = ("listing",)
    date_hierarchy = "start_date"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records change only through exchanges.payments (and Stripe's webhooks)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "exchange", "purpose", "state", "amount_cents", "fee_cents",
                    "captured_cents", "refunded_cents", "capture_deadline", "created_at")
    list_filter = ("purpose", "state")
    search_fields = ("checkout_session_id", "payment_intent_id", "exchange__listing__title")
    list_select_related = ("exchange__listing",)


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(ReadOnlyAdmin):
    list_display = ("member", "stripe_account_id", "charges_enabled", "details_submitted",
                    "updated_at")
    list_filter = ("charges_enabled", "details_submitted")
    search_fields = ("member__email", "stripe_account_id")
    list_select_related = ("member",)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "received_at", "processed_at")
    list_filter = ("type", "processed_at")
    search_fields = ("event_id", "type")
