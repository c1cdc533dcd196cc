"""Loan extensions: the borrower asks to keep the thing longer, the owner answers.

Every change here follows services._transition's discipline: inside one transaction,
lock the listing row, then the exchange row, then the extension row (always in that
order, so an extension and a new loan of the same listing never wait on each other
crosswise), check who acts and the current states on the locked rows, save, write an
ExchangeEvent and, after commit, send `exchange_changed`. A refusal raises ExchangeError
and changes nothing. The loan itself keeps its state: an extension only moves its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import day
from exchanges.models import (
    Exchange,
    ExchangeKind,
    ExtensionState,
    LoanExtension,
    Role,
    State,
)
from exchanges.services import MAX_LOAN_DAYS, ExchangeError, _record, loan_conflict
from listings.models import Listing
from members.models import Member

# A loan may be extended once the owner said yes and until the thing is back.
EXTENDABLE_STATES = frozenset({State.ACCEPTED, State.PAID, State.IN_PROGRESS})


def _lock(exchange_pk: int, extension_pk: int | None = None):
    """Lock listing, exchange and (when given) extension rows, in that order."""
    exchange = Exchange.objects.only("listing_id").get(pk=exchange_pk)
    listing = Listing.objects.select_for_update().get(pk=exchange.listing_id)
    locked = Exchange.objects.select_for_update().get(pk=exchange_pk)
    locked.listing = listing
    extension = None
    if extension_pk is not None:
        extension = LoanExtension.objects.select_for_update().get(pk=extension_pk)
        extension.exchange = locked
    return listing, locked, extension


def _require_role(exchange: Exchange, by: Member, role: str) -> None:
    actual = exchange.role_of(by)
    if actual is None:
        raise ExchangeError(_("You are not part of this exchange."))
    if actual != role:
        if role == Role.ASKER:
            raise ExchangeError(_("Only the borrower can do this."))
        raise ExchangeError(_("Only the owner can do this."))


def _require_running_loan(exchange: Exchange) -> None:
    if exchange.kind != ExchangeKind.LOAN:
        raise ExchangeError(_("Only a loan can be extended."))
    if exchange.state not in EXTENDABLE_STATES:
        raise ExchangeError(
            _("This loan is %(state)s: it cannot be extended now.")
            % {"state": exchange.get_state_display().lower()}
        )


def _extension_refusal(exchange: Exchange, listing: Listing, new_end: date) -> str | None:
    """Why the loan cannot run until `new_end`, or None: after the current end, not in
    the past, at most MAX_LOAN_DAYS in all, and the added days (with the listing's
    buffer after them) free of other loans and of the owner's blocked days."""
    if new_end <= exchange.end_date:
        return _("Choose a day after %(date)s, the current last day.") % {
            "date": day(exchange.end_date),
        }
    if new_end < timezone.localdate():
        return _("Choose a day that has not passed yet.")
    if (new_end - exchange.start_date).days + 1 > MAX_LOAN_DAYS:
        return _("A loan lasts at most %(days)s days.") % {"days": MAX_LOAN_DAYS}
    return loan_conflict(listing, exchange.end_date + timedelta(days=1), new_end, exclude=exchange)


def _event_note(extension: LoanExtension, note: str = "") -> str:
    until = _("until %(date)s") % {"date": day(extension.new_end_date)}
    return f"{until}\n{note.strip()}" if note.strip() else until


@transaction.atomic
def extension_request(*, exchange: Exchange, by: Member, new_end_date: date,
                      note: str = "") -> LoanExtension:
    """The borrower asks to keep an accepted or running loan until `new_end_date`.
    Guarantees: only the borrower asks, one open question per loan (the database backs
    it), the new day comes after the current end and is not past, the loan stays within
    MAX_LOAN_DAYS, and the added days are free now (the owner's answer checks again).
    An overdue borrower may ask too: extending is how an honest delay is settled."""
    listing, locked, _unused = _lock(exchange.pk)
    _require_role(locked, by, Role.ASKER)
    _require_running_loan(locked)
    if locked.extensions.filter(state=ExtensionState.REQUESTED).exists():
        raise ExchangeError(_("You already asked for more days; wait for the owner's answer."))
    refusal = _extension_refusal(locked, listing, new_end_date)
    if refusal:
        raise ExchangeError({"new_end_date": [refusal]})
    extension = LoanExtension.objects.create(
        exchange=locked, requested_by=by, new_end_date=new_end_date, note=note.strip()[:2000],
    )
    _record(locked, "extend_request", by, locked.state, locked.state, _event_note(extension, note))
    return extension


def _open_extension(extension_pk: int, by: Member, role: str):
    extension = LoanExtension.objects.only("exchange_id").get(pk=extension_pk)
    listing, exchange, extension = _lock(extension.exchange_id, extension_pk)
    _require_role(exchange, by, role)
    if extension.state != ExtensionState.REQUESTED:
        raise ExchangeError(
            _("This request for more days is already %(state)s.")
            % {"state": extension.get_state_display().lower()}
        )
    return listing, exchange, extension


def _close(extension: LoanExtension, state: str) -> None:
    extension.state = state
    extension.decided_at = timezone.now()
    extension.save(update_fields=["state", "decided_at"])


@transaction.atomic
def extension_accept(*, extension: LoanExtension, by: Member) -> LoanExtension:
    """The owner says yes: the loan now ends on the new day and keeps the listing's
    buffer after it. Checked on the locked listing like any accepted loan: the added
    days never overlap another loan (buffers included) nor days the owner blocked.
    The fee grows by the loan's daily rate for each added day; overdue reminders start
    over from the new end."""
    listing, exchange, extension = _open_extension(extension.pk, by, Role.OWNER)
    _require_running_loan(exchange)
    refusal = _extension_refusal(exchange, listing, extension.new_end_date)
    if refusal:
        raise ExchangeError(refusal)
    added_days = (extension.new_end_date - exchange.end_date).days
    # The rate fixed when the loan was asked for (amount = rate × days), not today's price.
    daily_cents = exchange.amount_cents // exchange.days if exchange.days else 0
    exchange.amount_cents += daily_cents * added_days
    exchange.end_date = extension.new_end_date
    exchange.blocked_until = extension.new_end_date + timedelta(days=listing.loan_buffer_days)
    exchange.last_reminder_on = None
    exchange.save(update_fields=[
        "end_date", "blocked_until", "amount_cents", "last_reminder_on", "updated_at",
    ])
    _close(extension, ExtensionState.ACCEPTED)
    _record(exchange, "extend", by, exchange.state, exchange.state, _event_note(extension))
    return extension


@transaction.atomic
def extension_decline(*, extension: LoanExtension, by: Member, note: str = "") -> LoanExtension:
    """The owner says no; the loan keeps its end. Works whatever the loan's state, so a
    question left open when the loan ended can still be closed."""
    _listing, exchange, extension = _open_extension(extension.pk, by, Role.OWNER)
    _close(extension, ExtensionState.DECLINED)
    _record(exchange, "extend_decline", by, exchange.state, exchange.state,
            _event_note(extension, note))
    return extension


@transaction.atomic
def extension_cancel(*, extension: LoanExtension, by: Member) -> LoanExtension:
    """The borrower withdraws a question the owner has not answered yet."""
    _listing, exchange, extension = _open_extension(extension.pk, by, Role.ASKER)
    _close(extension, ExtensionState.CANCELLED)
    _record(exchange, "extend_cancel", by, exchange.state, exchange.state, _event_note(extension))
    return extension


# --- Reads for the exchange page ------------------------------------------------------


@dataclass
class ExtensionPanel:
    """What the exchange page shows about extensions to one member."""

    show: bool = False
    role: str | None = None
    history: list[LoanExtension] = field(default_factory=list)
    pending: LoanExtension | None = None
    can_request: bool = False
    min_date: date | None = None
    max_date: date | None = None


def extension_panel(exchange: Exchange, member: Member) -> ExtensionPanel:
    """The loan's extensions (newest first, one query), the open one if any, and whether
    this member may ask for more days now, with the range the date input accepts."""
    if exchange.kind != ExchangeKind.LOAN:
        return ExtensionPanel()
    role = exchange.role_of(member)
    history = list(exchange.extensions.order_by("-created_at", "-id"))
    pending = next((e for e in history if e.state == ExtensionState.REQUESTED), None)
    panel = ExtensionPanel(show=True, role=role, history=history, pending=pending)
    running = exchange.state in EXTENDABLE_STATES
    if role == Role.ASKER and running and pending is None and exchange.end_date:
        panel.min_date = max(exchange.end_date + timedelta(days=1), timezone.localdate())
        panel.max_date = exchange.start_date + timedelta(days=MAX_LOAN_DAYS - 1)
        panel.can_request = panel.min_date <= panel.max_date
    if not running and pending is None and not history:
        panel.show = False
    return panel
