"""One Exchange per deal, moving only through the transition table below.

The table is the single statement of who may do what, from which state. Services in
exchanges/services.py apply it under a row lock and record every move as an
ExchangeEvent row, the deal's audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from listings.models import Listing


class ExchangeKind(models.TextChoices):
    LOAN = "loan", _("Loan")
    SWAP = "swap", _("Swap")
    SALE = "sale", _("Sale")
    RIDE = "ride", _("Ride booking")
    SERVICE = "service", _("Service trade")


class State(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    PAID = "paid", _("Paid")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    DISPUTED = "disputed", _("Disputed")


# States in which a deal holds the thing: its dates or seats are taken.
HOLDING_STATES = frozenset({State.ACCEPTED, State.PAID, State.IN_PROGRESS, State.DISPUTED})
OPEN_STATES = frozenset({State.REQUESTED}) | HOLDING_STATES
FINAL_STATES = frozenset(
    {State.DECLINED, State.CANCELLED, State.EXPIRED, State.COMPLETED}
)


class Role(models.TextChoices):
    ASKER = "asker", _("the member who asked")
    OWNER = "owner", _("the owner")
    SYSTEM = "system", _("Partage")


ALL_KINDS = "*"

# Service trades: one trade counts at most 100 hours (the ledger's largest transfer).
MAX_SERVICE_MINUTES = 100 * 60


@dataclass(frozen=True)
class Transition:
    """An action: the states it may start from, the state it leads to, and who may take
    it (by exchange kind, ALL_KINDS for the default)."""

    action: str
    sources: frozenset[str]
    target: str
    actors: dict[str, frozenset[str]]
    label: str

    def allowed_roles(self, kind: str) -> frozenset[str]:
        return self.actors.get(kind, self.actors.get(ALL_KINDS, frozenset()))


def _t(action, sources, target, actors, label) -> Transition:
    return Transition(action, frozenset(sources), target,
                      {k: frozenset(v) for k, v in actors.items()}, label)


ASKER, OWNER, SYSTEM = Role.ASKER, Role.OWNER, Role.SYSTEM

# The whole state machine. Each row is one service function in services.py.
TRANSITIONS: dict[str, Transition] = {t.action: t for t in [
    _t("accept", {State.REQUESTED}, State.ACCEPTED, {ALL_KINDS: {OWNER}}, _("Accept")),
    _t("decline", {State.REQUESTED}, State.DECLINED, {ALL_KINDS: {OWNER}}, _("Decline")),
    _t("cancel", {State.REQUESTED}, State.CANCELLED, {ALL_KINDS: {ASKER}}, _("Withdraw my request")),
    _t("call_off", {State.ACCEPTED, State.PAID}, State.CANCELLED,
       {ALL_KINDS: {ASKER, OWNER}}, _("Cancel the deal")),
    _t("expire", {State.REQUESTED}, State.EXPIRED, {ALL_KINDS: {SYSTEM}}, _("Expire")),
    _t("pay", {State.ACCEPTED}, State.PAID, {ALL_KINDS: {SYSTEM}}, _("Record the payment")),
    # Hand-over: the owner gives the thing (or the ride leaves, or the service starts).
    _t("start", {State.ACCEPTED, State.PAID}, State.IN_PROGRESS,
       {ALL_KINDS: {OWNER}, ExchangeKind.SWAP: {ASKER, OWNER}}, _("Confirm the hand-over")),
    # Completion is confirmed by whoever can tell it is over: the lender gets the thing
    # back, the buyer or receiver has what they asked for, the driver arrived.
    _t("complete", {State.IN_PROGRESS}, State.COMPLETED, {
        ExchangeKind.LOAN: {OWNER}, ExchangeKind.RIDE: {OWNER},
        # A service trade the receiver leaves unanswered for 7 days after the time was
        # recorded is confirmed by Partage (exchanges_tick).
        ExchangeKind.SALE: {ASKER}, ExchangeKind.SERVICE: {ASKER, SYSTEM},
        ExchangeKind.SWAP: {ASKER, OWNER},
    }, _("Confirm it is done")),
    _t("dispute", {State.ACCEPTED, State.PAID, State.IN_PROGRESS}, State.DISPUTED,
       {ALL_KINDS: {ASKER, OWNER}}, _("Report a problem")),
    # A moderator settles a dispute (moderation calls these as Partage; its audit log
    # names the moderator): done as agreed, or cancelled with the money given back.
    _t("settle_complete", {State.DISPUTED}, State.COMPLETED, {ALL_KINDS: {SYSTEM}},
       _("Settle: it is done")),
    _t("settle_cancel", {State.DISPUTED}, State.CANCELLED, {ALL_KINDS: {SYSTEM}},
       _("Settle: cancel and refund")),
]}


# Where a kind has its own words for an action, the button says them (the table's label
# otherwise): a ride leaves and arrives, a service starts; only things are handed over.
KIND_LABELS: dict[tuple[str, str], str] = {
    ("start", ExchangeKind.RIDE): _("Confirm the departure"),
    ("start", ExchangeKind.SERVICE): _("Confirm the service has started"),
    ("complete", ExchangeKind.RIDE): _("Confirm the arrival"),
    ("complete", ExchangeKind.LOAN): _("Confirm it was returned"),
}


def action_label(action: str, kind: str) -> str:
    """The button text of an action on a deal of this kind."""
    return KIND_LABELS.get((action, kind)) or TRANSITIONS[action].label


class DateRange(models.Func):
    function = "DATERANGE"
    output_field = DateRangeField()


# Two accepted loans of one listing never overlap, buffer days included. PostgreSQL only
# (GiST, btree_gist); it lives outside the model state, like the search index, because
# SQLite rebuilds tables from the state and cannot build it (migration 0002).
LOANS_NEVER_OVERLAP = ExclusionConstraint(
    name="exchange_loans_never_overlap",
    expressions=[
        ("listing", RangeOperators.EQUAL),
        (DateRange("start_date", "blocked_until", models.Value("[]")), RangeOperators.OVERLAPS),
    ],
    condition=Q(kind="loan", state__in=sorted(HOLDING_STATES)),
)


class ExchangeQuerySet(models.QuerySet):
    def for_member(self, member) -> ExchangeQuerySet:
        return self.filter(Q(asker=member) | Q(owner=member))

    def holding(self) -> ExchangeQuerySet:
        return self.filter(state__in=HOLDING_STATES)

    def open(self) -> ExchangeQuerySet:
        return self.filter(state__in=OPEN_STATES)


class Exchange(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="exchanges")
    kind = models.CharField(_("kind"), max_length=16, choices=ExchangeKind.choices)
    asker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exchanges_asked"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exchanges_owned"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.REQUESTED, db_index=True
    )
    message = models.TextField(_("message"), max_length=2000, blank=True)

    # Loans: the requested days, both included, and the last day kept free after the
    # return (end + the listing's buffer), which the no-overlap rule covers.
    start_date = models.DateField(_("from"), null=True, blank=True)
    end_date = models.DateField(_("until"), null=True, blank=True)
    blocked_until = models.DateField(null=True, blank=True, editable=False)
    # Rides.
    seats = models.PositiveSmallIntegerField(_("seats"), null=True, blank=True)
    # Swaps: what the asker offers in return.
    offered_listings = models.ManyToManyField(
        Listing, blank=True, related_name="offered_in", verbose_name=_("offered in return")
    )

    # Service trades, in integer minutes: the duration asked for, the time the provider
    # recorded once it was done, and when (the receiver has 7 days to answer).
    proposed_minutes = models.PositiveIntegerField(_("proposed time (minutes)"), null=True, blank=True)
    actual_minutes = models.PositiveIntegerField(_("time spent (minutes)"), null=True, blank=True)
    time_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A direct swap of services (I mow, you babysit): the asker's own service given in
    # return, with its proposed and recorded time. Each side confirms the time the other
    # recorded; the trade completes when both did (or Partage, 7 days after the last
    # unconfirmed time was recorded) and posts two transfers, one each way.
    return_listing = models.ForeignKey(
        Listing, null=True, blank=True, on_delete=models.PROTECT, related_name="returned_in",
        verbose_name=_("service given in return"),
    )
    return_proposed_minutes = models.PositiveIntegerField(
        _("proposed time in return (minutes)"), null=True, blank=True
    )
    return_actual_minutes = models.PositiveIntegerField(
        _("time spent in return (minutes)"), null=True, blank=True
    )
    return_time_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # In a swap: the asker confirmed the owner's time, the owner confirmed the asker's.
    time_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    return_time_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Money, in integer cents, fixed when the request is made.
    amount_cents = models.PositiveIntegerField(_("amount (cents)"), default=0)
    deposit_cents = models.PositiveIntegerField(_("deposit (cents)"), default=0)
    pay_in_person = models.BooleanField(default=True)

    requested_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_reminder_on = models.DateField(null=True, blank=True, editable=False)

    objects = ExchangeQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        indexes = [
            models.Index(fields=["listing", "state"], name="exchange_listing_state_idx"),
            models.Index(fields=["asker", "state"], name="exchange_asker_state_idx"),
            models.Index(fields=["owner", "state"], name="exchange_owner_state_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(asker=models.F("owner")),
                                   name="exchange_not_with_oneself"),
            models.CheckConstraint(
                condition=~Q(kind=ExchangeKind.LOAN)
                | (Q(start_date__isnull=False) & Q(end_date__isnull=False)
                   & Q(end_date__gte=models.F("start_date"))),
                name="exchange_loan_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(blocked_until__isnull=True)
                | Q(blocked_until__gte=models.F("end_date")),
                name="exchange_buffer_after_end",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ExchangeKind.RIDE)
                | (Q(seats__isnull=False) & Q(seats__gte=1) & Q(seats__lte=8)),
                name="exchange_ride_seats",
            ),
            models.CheckConstraint(condition=Q(state__in=State.values), name="exchange_state_known"),
            models.CheckConstraint(
                condition=Q(proposed_minutes__isnull=True)
                | (Q(proposed_minutes__gt=0) & Q(proposed_minutes__lte=MAX_SERVICE_MINUTES)),
                name="exchange_proposed_minutes_in_range",
            ),
            models.CheckConstraint(
                condition=Q(actual_minutes__isnull=True)
                | (Q(actual_minutes__gt=0) & Q(actual_minutes__lte=MAX_SERVICE_MINUTES)),
                name="exchange_actual_minutes_in_range",
            ),
            # What a swap of services adds exists only on a service trade with a service
            # given in return, and a time is confirmed only once it was recorded.
            models.CheckConstraint(
                condition=Q(return_listing__isnull=True)
                | (Q(kind=ExchangeKind.SERVICE) & Q(return_proposed_minutes__isnull=False)),
                name="exchange_return_service_only_on_service_trades",
            ),
            models.CheckConstraint(
                condition=Q(return_listing__isnull=False)
                | (Q(return_proposed_minutes__isnull=True) & Q(return_actual_minutes__isnull=True)
                   & Q(return_time_confirmed_at__isnull=True) & Q(time_confirmed_at__isnull=True)),
                name="exchange_return_fields_need_return_service",
            ),
            models.CheckConstraint(
                condition=Q(return_proposed_minutes__isnull=True)
                | (Q(return_proposed_minutes__gt=0)
                   & Q(return_proposed_minutes__lte=MAX_SERVICE_MINUTES)),
                name="exchange_return_proposed_minutes_in_range",
            ),
            models.CheckConstraint(
                condition=Q(return_actual_minutes__isnull=True)
                | (Q(return_actual_minutes__gt=0) & Q(return_actual_minutes__lte=MAX_SERVICE_MINUTES)),
                name="exchange_return_actual_minutes_in_range",
            ),
            models.CheckConstraint(
                condition=Q(time_confirmed_at__isnull=True) | Q(actual_minutes__isnull=False),
                name="exchange_confirmed_time_was_recorded",
            ),
            models.CheckConstraint(
                condition=Q(return_time_confirmed_at__isnull=True)
                | Q(return_actual_minutes__isnull=False),
                name="exchange_confirmed_return_time_was_recorded",
            ),
            # A loan that holds days always says until when (the exclusion constraint
            # would otherwise see an open-ended range).
            models.CheckConstraint(
                condition=~Q(kind=ExchangeKind.LOAN, state__in=sorted(HOLDING_STATES))
                | Q(blocked_until__isnull=False),
                name="exchange_held_loan_has_blocked_until",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}: {self.listing}"

    def get_absolute_url(self) -> str:
        return reverse("exchanges:detail", args=[self.pk])

    def role_of(self, member) -> str | None:
        if member is None:
            return None
        if member.pk == self.asker_id:
            return Role.ASKER
        if member.pk == self.owner_id:
            return Role.OWNER
        return None

    def other_party(self, member):
        return self.owner if member.pk == self.asker_id else self.asker

    @property
    def is_service_swap(self) -> bool:
        """A service trade with a service given in return: two transfers, one each way."""
        return self.kind == ExchangeKind.SERVICE and self.return_listing_id is not None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def days(self) -> int:
        if self.start_date and self.end_date:
            return (self.end_date - self.start_date).days + 1
        return 0

    def is_overdue(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return (
            self.kind == ExchangeKind.LOAN
            and self.state == State.IN_PROGRESS
            and self.end_date is not None
            and self.end_date < today
        )

    def can_transition(self, action: str, role: str | None) -> bool:
        transition = TRANSITIONS.get(action)
        return bool(
            transition
            and self.state in transition.sources
            and role in transition.allowed_roles(self.kind)
        )


class ExchangeEvent(models.Model):
    """One row per move of a deal: who, from which state to which, when, and why.
    Append-only: the timeline members and moderators read."""

    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    note = models.TextField(blank=True, max_length=2000)
    # The time a record_time or correct_time event recorded, in minutes: the timeline and
    # the notification word it in the reader's language.
    minutes = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("exchange event")
        verbose_name_plural = _("exchange events")

    def __str__(self) -> str:
        return f"{self.exchange_id}: {self.from_state or '∅'} → {self.to_state} ({self.action})"


class BlockedPeriod(models.Model):
    """Days the owner keeps a listing unavailable for loans (holidays, repairs)."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="blocked_periods")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("blocked period")
        verbose_name_plural = _("blocked periods")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")),
                                   name="blocked_period_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.listing}: {self.start_date} – {self.end_date}"


# --- Loan extensions


class ExtensionState(models.TextChoices):
    REQUESTED = "requested", _("Asked")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Withdrawn")


class LoanExtension(models.Model):
    """A borrower's request to keep a loan longer, and the owner's answer. Accepting it
    moves the loan's end (exchanges/extensions.py, under the same no-overlap rule)."""

    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    new_end_date = models.DateField(_("new last day"))
    state = models.CharField(
        _("state"), max_length=16, choices=ExtensionState.choices,
        default=ExtensionState.REQUESTED,
    )
    note = models.TextField(_("note"), max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("loan extension")
        verbose_name_plural = _("loan extensions")
        constraints = [
            # One question at a time: the owner answers it before the next one.
            models.UniqueConstraint(
                fields=["exchange"], condition=Q(state=ExtensionState.REQUESTED),
                name="loan_extension_one_open_per_exchange",
            ),
            models.CheckConstraint(condition=Q(state__in=ExtensionState.values),
                                   name="loan_extension_state_known"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id}: until {self.new_end_date} ({self.state})"


# --- Online payments (Stripe). Rules and every Stripe call live in exchanges/payments.py.


class ConnectedAccount(models.Model):
    """A member's Stripe Connect (Express) account, where their sales and claimed
    deposits are paid. Mirrors what Stripe last told us about it."""

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_account"
    )
    stripe_account_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("connected Stripe account")
        verbose_name_plural = _("connected Stripe accounts")

    def __str__(self) -> str:
        return f"{self.stripe_account_id} ({self.member_id})"

    @property
    def is_ready(self) -> bool:
        return self.charges_enabled and self.details_submitted


class PaymentPurpose(models.TextChoices):
    CHARGE = "charge", _("Payment")
    DEPOSIT = "deposit", _("Deposit")


class PaymentState(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    PAID = "paid", _("Paid")
    AUTHORISED = "authorised", _("Deposit held")
    RELEASED = "released", _("Deposit released")
    CAPTURED = "captured", _("Deposit claimed")
    REFUNDED = "refunded", _("Refunded")
    EXPIRED = "expired", _("Not paid in time")
    VOID = "void", _("No longer needed")


# A deal has at most one live payment of each purpose.
LIVE_PAYMENT_STATES = (PaymentState.PENDING, PaymentState.PAID, PaymentState.AUTHORISED)


class Payment(models.Model):
    """One online payment of a deal: the price (a Checkout destination charge to the
    owner's connected account, the platform keeping its fee) or the loan deposit (a
    manual-capture hold). Amounts in integer cents, as Stripe counts them."""

    exchange = models.ForeignKey(Exchange, on_delete=models.PROTECT, related_name="payments")
    purpose = models.CharField(max_length=16, choices=PaymentPurpose.choices)
    state = models.CharField(
        max_length=16, choices=PaymentState.choices, default=PaymentState.PENDING
    )
    # The n-th Checkout session made for this payment (a new one after one expires):
    # part of the idempotency key, so a retry reuses the session and never makes two.
    attempts = models.PositiveSmallIntegerField(default=0)
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    destination_account_id = models.CharField(max_length=64, blank=True)
    amount_cents = models.PositiveIntegerField()
    fee_cents = models.PositiveIntegerField(default=0)
    captured_cents = models.PositiveIntegerField(default=0)
    refunded_cents = models.PositiveIntegerField(default=0)
    claim_reason = models.TextField(blank=True, max_length=2000)
    authorised_at = models.DateTimeField(null=True, blank=True)
    # Card authorisations lapse 7 days after they are made: the hold must be claimed or
    # released before then.
    capture_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "purpose"],
                condition=Q(state__in=[s.value for s in LIVE_PAYMENT_STATES]),
                name="payment_one_live_per_purpose",
            ),
            models.CheckConstraint(condition=Q(fee_cents__lte=models.F("amount_cents")),
                                   name="payment_fee_within_amount"),
            models.CheckConstraint(condition=Q(captured_cents__lte=models.F("amount_cents")),
                                   name="payment_capture_within_amount"),
            models.CheckConstraint(condition=Q(refunded_cents__lte=models.F("amount_cents")),
                                   name="payment_refund_within_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} of exchange {self.exchange_id}: {self.state}"


class StripeEvent(models.Model):
    """Every Stripe event we received, stored once by its id. `processed_at` is set in
    the same transaction as the changes the event made, so an event whose handling
    failed stays unprocessed and is tried again (by Stripe's retries or reconcile)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"
