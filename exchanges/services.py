"""Every change to an exchange. One function per action of the TRANSITIONS table.

Each transition, inside one transaction: locks the listing row and then the exchange row
(always in that order, so two transitions never wait on each other crosswise), checks
the actor's role and the current state against the table, checks the kind's own rules
on the locked rows, saves, writes an ExchangeEvent, and after commit sends
`exchange_changed`. An illegal move raises ExchangeError and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.dates import day
from exchanges.models import (
    HOLDING_STATES,
    MAX_SERVICE_MINUTES,
    OPEN_STATES,
    TRANSITIONS,
    BlockedPeriod,
    Exchange,
    ExchangeEvent,
    ExchangeKind,
    Role,
    State,
)
from exchanges.signals import exchange_changed, loan_overdue
from ledger.services import LedgerError, Posting, transfer_post, transfer_room, transfers_post
from listings.models import Kind, Listing, Status, Terms
from members.models import Member
from members.standing import require_good_standing

REQUEST_LIFETIME = timedelta(hours=72)
MAX_LOAN_DAYS = 60
MAX_LOAN_ADVANCE_DAYS = 365
REMINDER_EVERY_DAYS = 3
# A service trade whose receiver does not answer this long after the time was recorded
# is confirmed by Partage.
SERVICE_CONFIRM_AFTER = timedelta(days=7)
# A recorded time this far above the agreed one is asked to be confirmed (is_far_above).
FAR_ABOVE_TIMES = 3
FAR_ABOVE_EXTRA_MINUTES = 4 * 60


class ExchangeError(ValidationError):
    """A move the rules refuse; its message is meant for the member."""


def exchange_kind_for(listing: Listing) -> str | None:
    """The kind of deal a request on this listing makes, or None when it takes none
    (wanted posts are answered in a conversation; a free service is simply arranged
    there too: only services bartered for hours make a trade on the time bank)."""
    if listing.kind == Kind.RIDE:
        return ExchangeKind.RIDE
    if listing.kind == Kind.SERVICE:
        return ExchangeKind.SERVICE if listing.terms == Terms.BARTER else None
    if listing.kind == Kind.ITEM:
        return {
            Terms.LEND: ExchangeKind.LOAN,
            Terms.SWAP: ExchangeKind.SWAP,
            Terms.SELL: ExchangeKind.SALE,
            Terms.GIVE: ExchangeKind.SALE,  # a gift is a sale at no price
        }.get(listing.terms)
    return None


# --- Reads the rules share -----------------------------------------------------------


def taken_loan_periods(listing: Listing, *, exclude: Exchange | None = None):
    """(start, last blocked day) of every loan holding the listing, buffer included."""
    loans = Exchange.objects.filter(
        listing=listing, kind=ExchangeKind.LOAN, state__in=HOLDING_STATES
    )
    if exclude is not None:
        loans = loans.exclude(pk=exclude.pk)
    return list(loans.values_list("start_date", "blocked_until"))


def loan_conflict(listing: Listing, start: date, end: date, *, exclude: Exchange | None = None) -> str | None:
    """Why these days cannot be lent, or None. The new loan's own buffer counts too:
    it must end `buffer` days before the next loan starts."""
    buffer = timedelta(days=listing.loan_buffer_days)
    for taken_start, taken_until in taken_loan_periods(listing, exclude=exclude):
        if start <= taken_until and taken_start <= end + buffer:
            return _("These days overlap another loan (%(start)s – %(end)s).") % {
                "start": day(taken_start), "end": day(taken_until),
            }
    blocked = BlockedPeriod.objects.filter(
        listing=listing, start_date__lte=end, end_date__gte=start
    ).first()
    if blocked:
        return _("The owner keeps these days free (%(start)s – %(end)s).") % {
            "start": day(blocked.start_date), "end": day(blocked.end_date),
        }
    return None


def seats_left_message(free: int) -> str:
    """Why a booking for more seats is refused, with a real plural."""
    free = max(free, 0)
    if not free:
        return _("No seat is left.")
    return ngettext("Only %(free)s seat is left.", "Only %(free)s seats are left.", free) % {"free": free}


def seats_taken(listing: Listing, *, exclude: Exchange | None = None) -> int:
    bookings = Exchange.objects.filter(
        listing=listing, kind=ExchangeKind.RIDE, state__in=HOLDING_STATES
    )
    if exclude is not None:
        bookings = bookings.exclude(pk=exclude.pk)
    return bookings.aggregate(total=Sum("seats"))["total"] or 0


def overdue_loans_of(member: Member, today: date | None = None):
    today = today or timezone.localdate()
    return Exchange.objects.filter(
        asker=member, kind=ExchangeKind.LOAN, state=State.IN_PROGRESS, end_date__lt=today
    )


def _refuse_if_overdue(member: Member) -> None:
    overdue = overdue_loans_of(member).select_related("listing").first()
    if overdue:
        raise ExchangeError(
            _("Please return “%(title)s” first: it was due on %(date)s.")
            % {"title": overdue.listing.title, "date": day(overdue.end_date)}
        )


def _hours(minutes: int) -> str:
    whole, rest = divmod(minutes, 60)
    return f"{whole} h {rest:02d}" if rest else f"{whole} h"


def _check_minutes(minutes, field: str) -> int:
    """A whole number of minutes a service trade may count, or ExchangeError on `field`."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ExchangeError({field: [_("Give the time as a whole number of minutes.")]})
    if minutes < 1:
        raise ExchangeError({field: [_("Give at least one minute.")]})
    if minutes > MAX_SERVICE_MINUTES:
        raise ExchangeError({field: [
            _("One trade counts at most %(hours)s.") % {"hours": _hours(MAX_SERVICE_MINUTES)}
        ]})
    return minutes


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Request ---------------------------------------------------------------------------


@transaction.atomic
def exchange_request(
    *,
    listing: Listing,
    asker: Member,
    start_date: date | None = None,
    end_date: date | None = None,
    seats: int | None = None,
    offered: Iterable[Listing] = (),
    minutes: int | None = None,
    return_minutes: int | None = None,
    message: str = "",
) -> Exchange:
    """Ask the owner for a deal on their listing. Guarantees: the listing is active and
    not the asker's own; the asker has no other open request on it; loans ask for future
    days that are free (at most 60, within a year) and the asker has no overdue loan;
    rides ask 1 to the free seats before departure; swaps offer the asker's own active
    items; service trades propose 1 to 6000 minutes (the listing's hours by default) and
    may offer one of the asker's own active services bartered for hours in return (a
    swap of services), with its own proposed time (`return_minutes`, by default that
    listing's hours).
    Amounts are fixed now in cents. The request expires after 72 hours or when
    the period or the ride starts, whichever comes first (a loan asked for today: at
    the end of today)."""
    require_good_standing(asker)
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    kind = exchange_kind_for(listing)
    if listing.owner_id == asker.pk:
        raise ExchangeError(_("This is your own listing."))
    if listing.status != Status.ACTIVE:
        raise ExchangeError(_("This listing is not available at the moment."))
    if kind is None:
        raise ExchangeError(_("This listing does not take requests."))
    if Exchange.objects.filter(listing=listing, asker=asker, state__in=OPEN_STATES).exists():
        raise ExchangeError(_("You already have an open request for this listing."))

    now = timezone.now()
    expires_at = now + REQUEST_LIFETIME
    exchange = Exchange(
        listing=listing, kind=kind, asker=asker, owner_id=listing.owner_id,
        message=message.strip()[:2000], requested_at=now, pay_in_person=True,
    )

    if kind == ExchangeKind.LOAN:
        _refuse_if_overdue(asker)
        today = timezone.localdate()
        if start_date is None or end_date is None:
            raise ExchangeError({"start_date": [_("Choose the days you need it.")]})
        if start_date < today:
            raise ExchangeError({"start_date": [_("The loan cannot start in the past.")]})
        if end_date < start_date:
            raise ExchangeError({"end_date": [_("The last day comes after the first.")]})
        if (end_date - start_date).days + 1 > MAX_LOAN_DAYS:
            raise ExchangeError({"end_date": [
                _("A loan lasts at most %(days)s days.") % {"days": MAX_LOAN_DAYS}
            ]})
        if start_date > today + timedelta(days=MAX_LOAN_ADVANCE_DAYS):
            raise ExchangeError({"start_date": [_("Ask at most a year ahead.")]})
        conflict = loan_conflict(listing, start_date, end_date)
        if conflict:
            raise ExchangeError({"start_date": [conflict]})
        exchange.start_date, exchange.end_date = start_date, end_date
        exchange.amount_cents = listing.price_cents * ((end_date - start_date).days + 1)
        exchange.deposit_cents = listing.deposit_cents
        # A loan asked for today has already "started" at midnight; the owner may still
        # answer until the end of that day rather than the request being born expired.
        expires_at = min(expires_at, _start_of_day(max(start_date, today + timedelta(days=1))))

    elif kind == ExchangeKind.RIDE:
        if listing.departs_at is None or listing.departs_at <= now:
            raise ExchangeError(_("This ride has already left."))
        free = (listing.seats or 0) - seats_taken(listing)
        if not seats or seats < 1:
            raise ExchangeError({"seats": [_("Book at least one seat.")]})
        if seats > free:
            raise ExchangeError({"seats": [seats_left_message(free)]})
        exchange.seats = seats
        exchange.amount_cents = listing.price_cents * seats
        expires_at = min(expires_at, listing.departs_at)

    elif kind == ExchangeKind.SWAP:
        # Re-read and lock what is offered: the caller's objects may be stale.
        offered_ids = sorted({item.pk for item in offered})
        offered = list(Listing.objects.select_for_update().filter(pk__in=offered_ids).order_by("pk"))
        if len(offered) != len(offered_ids):
            raise ExchangeError({"offered": [_("One of the offered listings no longer exists.")]})
        if not offered:
            raise ExchangeError({"offered": [_("Offer at least one of your listings.")]})
        for item in offered:
            if item.owner_id != asker.pk or item.status != Status.ACTIVE or item.kind != Kind.ITEM:
                raise ExchangeError({"offered": [
                    _("You can only offer your own active tools and items.")
                ]})

    elif kind == ExchangeKind.SALE:
        exchange.amount_cents = listing.price_cents

    elif kind == ExchangeKind.SERVICE:
        # Paid in time on the ledger when the receiver confirms, never in money.
        exchange.proposed_minutes = _check_minutes(
            listing.hours_minutes if minutes is None else minutes, "minutes"
        )
        _offer_service_in_return(exchange, asker, offered, return_minutes)

    # Paid online only when Stripe is on and the owner can take payments (payments.py
    # decides; imported here because payments builds on this module's transitions).
    from exchanges import payments

    exchange.pay_in_person = payments.pays_in_person(
        kind=kind, owner_id=listing.owner_id, amount_cents=exchange.amount_cents
    )
    exchange.expires_at = expires_at
    exchange.full_clean(exclude=["offered_listings"])
    exchange.save()
    payments.deposit_plan(exchange=exchange)
    if kind == ExchangeKind.SWAP:
        exchange.offered_listings.set(offered)
    _record(exchange, "request", asker, "", State.REQUESTED, exchange.message)
    return exchange


def _offer_service_in_return(exchange: Exchange, asker: Member, offered: Iterable[Listing],
                             return_minutes: int | None) -> None:
    """A swap of services: at most one listing, the asker's own active service bartered
    for hours (re-read and locked: the caller's object may be stale)."""
    offered_ids = sorted({item.pk for item in offered})
    if not offered_ids:
        if return_minutes is not None:
            raise ExchangeError({"return_minutes": [
                _("Choose the service you give in return before its time.")
            ]})
        return
    if len(offered_ids) > 1:
        raise ExchangeError({"offered": [_("Offer one of your services at most.")]})
    given = Listing.objects.select_for_update().filter(pk=offered_ids[0]).first()
    if given is None:
        raise ExchangeError({"offered": [_("The offered service no longer exists.")]})
    if (given.owner_id != asker.pk or given.status != Status.ACTIVE
            or exchange_kind_for(given) != ExchangeKind.SERVICE):
        raise ExchangeError({"offered": [
            _("You can only offer one of your own active services traded for hours.")
        ]})
    exchange.return_listing = given
    exchange.return_proposed_minutes = _check_minutes(
        given.hours_minutes if return_minutes is None else return_minutes, "return_minutes"
    )


# --- Transitions -------------------------------------------------------------------


def _record(exchange: Exchange, action: str, actor: Member | None, from_state: str,
            to_state: str, note: str = "", minutes: int | None = None) -> ExchangeEvent:
    event = ExchangeEvent.objects.create(
        exchange=exchange, actor=actor, action=action, from_state=from_state,
        to_state=to_state, note=note.strip()[:2000], minutes=minutes,
    )
    transaction.on_commit(lambda: exchange_changed.send(
        sender=Exchange, exchange=exchange, event=event, actor=actor,
    ))
    return event


def _transition(
    exchange: Exchange,
    action: str,
    by: Member | None,
    note: str = "",
    check: Callable[[Exchange, Listing], None] | None = None,
) -> Exchange:
    """Apply one row of TRANSITIONS; `by=None` is Partage itself (timers, webhooks)."""
    transition = TRANSITIONS[action]
    listing = Listing.objects.select_for_update().get(pk=exchange.listing_id)
    locked = Exchange.objects.select_for_update().get(pk=exchange.pk)
    locked.listing = listing
    role = Role.SYSTEM if by is None else locked.role_of(by)
    if role is None:
        raise ExchangeError(_("You are not part of this exchange."))
    if role not in transition.allowed_roles(locked.kind):
        raise ExchangeError(
            _("Only %(who)s can do this.") % {
                "who": ", ".join(str(Role(r).label) for r in sorted(transition.allowed_roles(locked.kind)))
                or _("nobody")
            }
        )
    if locked.state not in transition.sources:
        raise ExchangeError(
            _("This exchange is %(state)s: it cannot be changed this way now.")
            % {"state": locked.get_state_display().lower()}
        )
    if check is not None:
        check(locked, listing)
    from_state = locked.state
    locked.state = transition.target
    locked.save(update_fields=["state", "blocked_until", "updated_at"])
    if locked.kind == ExchangeKind.RIDE and (from_state in HOLDING_STATES) != (locked.state in HOLDING_STATES):
        # The seats this booking holds were taken or given back: the ride's count follows,
        # under the listing's lock taken above.
        listing.seats_booked = seats_taken(listing)
        Listing.objects.filter(pk=listing.pk).update(seats_booked=listing.seats_booked)
    _record(locked, action, by, from_state, transition.target, note)
    return locked


def _check_accept(exchange: Exchange, listing: Listing) -> None:
    # The tick expires requests every few minutes; in between, a request past its time
    # must not be accepted (its asker was told it lapsed, a loan's first day has begun).
    if exchange.expires_at is not None and exchange.expires_at <= timezone.now():
        raise ExchangeError(_("This request has expired."))
    if listing.status != Status.ACTIVE:
        raise ExchangeError(_("Reactivate the listing before accepting."))
    if exchange.kind == ExchangeKind.LOAN:
        conflict = loan_conflict(listing, exchange.start_date, exchange.end_date, exclude=exchange)
        if conflict:
            raise ExchangeError(conflict)
        exchange.blocked_until = exchange.end_date + timedelta(days=listing.loan_buffer_days)
    elif exchange.kind == ExchangeKind.RIDE:
        if listing.departs_at is None or listing.departs_at <= timezone.now():
            raise ExchangeError(_("This ride has already left."))
        if seats_taken(listing, exclude=exchange) + (exchange.seats or 0) > (listing.seats or 0):
            raise ExchangeError(_("Not enough seats are left for this booking."))
    elif exchange.kind in (ExchangeKind.SALE, ExchangeKind.SWAP):
        if Exchange.objects.filter(
            listing=listing, kind=exchange.kind, state__in=HOLDING_STATES
        ).exclude(pk=exchange.pk).exists():
            raise ExchangeError(_("You already accepted another request for this listing."))
        if exchange.kind == ExchangeKind.SWAP and exchange.offered_listings.exclude(
            status=Status.ACTIVE
        ).exists():
            raise ExchangeError(_("One of the offered listings is no longer available."))
    elif exchange.is_service_swap and not Listing.objects.filter(
        pk=exchange.return_listing_id, status=Status.ACTIVE
    ).exists():
        raise ExchangeError(_("The service offered in return is no longer available."))


@transaction.atomic
def exchange_accept(*, exchange: Exchange, by: Member, note: str = "") -> Exchange:
    """The owner accepts a request that has not expired. Loans: the days (and the buffer
    after them) must still be free on the locked listing — two accepted loans of one
    listing never overlap. Rides: the booked seats never exceed the seats offered. Sales
    and swaps: one buyer only."""
    return _transition(exchange, "accept", by, note, _check_accept)


@transaction.atomic
def exchange_decline(*, exchange: Exchange, by: Member, note: str = "") -> Exchange:
    return _transition(exchange, "decline", by, note)


@transaction.atomic
def exchange_cancel(*, exchange: Exchange, by: Member, note: str = "") -> Exchange:
    """The asker withdraws a request that has no answer yet."""
    return _transition(exchange, "cancel", by, note)


@transaction.atomic
def exchange_call_off(*, exchange: Exchange, by: Member, note: str = "") -> Exchange:
    """Either party cancels an accepted deal before the hand-over; the days or seats it
    held are free again at once. Money paid online is refunded (and a held deposit
    released) after commit: Stripe is never called under the deal's lock, and a refund
    that fails then is retried by `stripe_reconcile`."""
    from exchanges import payments  # payments builds on this module

    called_off = _transition(exchange, "call_off", by, note)
    transaction.on_commit(lambda: payments.settle_call_off(exchange_id=called_off.pk))
    return called_off


@transaction.atomic
def exchange_expire(*, exchange: Exchange) -> Exchange:
    return _transition(exchange, "expire", None, _("No answer in time."))


@transaction.atomic
def exchange_mark_paid(*, exchange: Exchange, note: str = "") -> Exchange:
    """Partage records an online payment (from the payment provider's confirmation)."""
    return _transition(exchange, "pay", None, note)


def _check_start(exchange: Exchange, listing: Listing) -> None:
    if exchange.state == State.ACCEPTED and not exchange.pay_in_person and exchange.amount_cents:
        raise ExchangeError(_("The payment has not arrived yet."))
    if exchange.kind == ExchangeKind.LOAN:
        overdue = overdue_loans_of(exchange.asker).exclude(pk=exchange.pk).first()
        if overdue:
            raise ExchangeError(_("The borrower must first return an overdue loan."))


@transaction.atomic
def exchange_start(*, exchange: Exchange, by: Member, note: str = "") -> Exchange:
    """The hand-over happened (or the ride left). Paid online deals start once paid."""
    return _transition(exchange, "start", by, note, _check_start)


def _pay_service_time(exchange: Exchange, listing: Listing, by: Member | None,
                      created_by: Member | None = None) -> None:
    """Post what the trade owes, in the completion's transaction: refused by the ledger,
    the completion is refused too. A one-way trade posts one transfer, receiver ->
    provider. A swap of services posts two, one each way, together (see
    post_service_time); a member does not complete a swap with the generic action, each
    side confirms the other's time (exchange_confirm_time) and the second confirmation
    completes it, as Partage."""
    if exchange.is_service_swap:
        if by is not None:
            raise ExchangeError(
                _("In a swap of services, each of you confirms the time the other recorded.")
            )
        if exchange.actual_minutes is None or exchange.return_actual_minutes is None:
            raise ExchangeError(_("Both of you record the time you gave before it is confirmed."))
        cutoff = timezone.now() - SERVICE_CONFIRM_AFTER
        for confirmed, recorded in (
            (exchange.time_confirmed_at, exchange.time_recorded_at),
            (exchange.return_time_confirmed_at, exchange.return_time_recorded_at),
        ):
            if confirmed is None and (recorded is None or recorded > cutoff):
                raise ExchangeError(_("The other member still has time to confirm."))
    else:
        if exchange.actual_minutes is None:
            raise ExchangeError(_("The provider has not recorded the time spent yet."))
        if by is None and (
            exchange.time_recorded_at is None
            or exchange.time_recorded_at > timezone.now() - SERVICE_CONFIRM_AFTER
        ):
            raise ExchangeError(_("The receiver still has time to confirm."))
    post_service_time(exchange=exchange, listing=listing, created_by=by or created_by)


def service_transfer_keys(exchange: Exchange) -> list[str]:
    """The idempotency keys of the trade's transfers: one per service given."""
    keys = [f"exchange:{exchange.pk}:service"]
    if exchange.is_service_swap:
        keys.append(f"exchange:{exchange.pk}:service-return")
    return keys


def post_service_time(*, exchange: Exchange, listing: Listing, created_by: Member | None) -> None:
    """Post the recorded time of a service trade on the ledger, exactly once per service
    (each transfer's idempotency key is derived from the exchange, so a replayed
    completion or tick moves nothing more). A swap's two transfers are posted together:
    both or neither, the limits checked on the balances after both (ledger
    transfers_post). Raises ExchangeError with the ledger's message when it refuses."""
    keys = service_transfer_keys(exchange)
    reference = f"exchange:{exchange.pk}"
    try:
        if not exchange.is_service_swap:
            transfer_post(
                payer=exchange.asker, payee=exchange.owner, minutes=exchange.actual_minutes,
                idempotency_key=keys[0], reference=reference, note=listing.title,
                created_by=created_by,
            )
            return
        given = exchange.return_listing
        transfers_post(postings=[
            Posting(payer=exchange.asker, payee=exchange.owner, minutes=exchange.actual_minutes,
                    idempotency_key=keys[0], reference=reference, note=listing.title),
            Posting(payer=exchange.owner, payee=exchange.asker,
                    minutes=exchange.return_actual_minutes, idempotency_key=keys[1],
                    reference=reference, note=given.title),
        ], created_by=created_by)
    except LedgerError as error:
        raise ExchangeError(" ".join(error.messages)) from error


def _check_complete(by: Member | None, exchange: Exchange, listing: Listing) -> None:
    if exchange.kind == ExchangeKind.SERVICE:
        _pay_service_time(exchange, listing, by)
    _close_swapped_and_sold(exchange, listing)


def _close_swapped_and_sold(exchange: Exchange, listing: Listing) -> None:
    to_close = [listing.pk]
    if exchange.kind == ExchangeKind.SWAP:
        to_close += list(exchange.offered_listings.values_list("pk", flat=True))
    if exchange.kind in (ExchangeKind.SWAP, ExchangeKind.SALE):
        Listing.objects.filter(pk__in=to_close).exclude(status=Status.REMOVED).update(
            status=Status.CLOSED, updated_at=timezone.now()
        )


@transaction.atomic
def exchange_complete(*, exchange: Exchange, by: Member | None, note: str = "") -> Exchange:
    """It is done: the lender has the thing back, the buyer has it, the ride arrived.
    A completed sale closes the listing; a completed swap closes every listing in it.
    A service trade (confirmed by its receiver, or by Partage 7 days after the time was
    recorded) needs the recorded time and posts exactly one ledger transfer of it,
    receiver -> provider, in the same transaction; if the ledger refuses (a limit),
    nothing changes."""
    return _transition(exchange, "complete", by, note, partial(_check_complete, by))


def _lock_service_trade(exchange: Exchange, by: Member) -> tuple[Exchange, str]:
    """The trade re-read under the same locks as _transition (the listing, then the
    exchange), with the member's role; refuses strangers and other deals."""
    listing = Listing.objects.select_for_update().get(pk=exchange.listing_id)
    locked = Exchange.objects.select_for_update().get(pk=exchange.pk)
    locked.listing = listing
    role = locked.role_of(by)
    if role is None:
        raise ExchangeError(_("You are not part of this exchange."))
    if locked.kind != ExchangeKind.SERVICE:
        raise ExchangeError(_("Only service trades count time."))
    return locked, role


def is_far_above(minutes: int, agreed: int | None) -> bool:
    """Whether a recorded time is far above the one agreed: more than three times it, or
    more than 4 hours over it (whichever comes first), so a slip of the finger (99 h for
    1 h) is caught while a long day that ran over is not."""
    if not agreed:
        return False
    return minutes > FAR_ABOVE_TIMES * agreed or minutes > agreed + FAR_ABOVE_EXTRA_MINUTES


class TimeNeedsConfirmation(ExchangeError):
    """The recorded time is far above the agreed one: the provider must say it is right."""


def _record_time_refusals(provider: Member, receiver: Member, minutes: int,
                          agreed: int | None, confirmed: bool, coming_back: int) -> None:
    room = transfer_room(payer=receiver, payee=provider, coming_back=coming_back)
    if minutes > room:
        # What the ledger would refuse at confirmation, said now to the one who can fix it.
        raise ExchangeError({"minutes": [
            _("At most %(hours)s can move from %(who)s's time account to yours now: the "
              "time bank's limits allow no more.") % {"hours": _hours(room), "who": receiver.public_name}
            if room else
            _("No time can move from %(who)s's time account to yours now: the time bank's "
              "limits allow no more.") % {"who": receiver.public_name}
        ]})
    if is_far_above(minutes, agreed) and not confirmed:
        raise TimeNeedsConfirmation({"minutes": [
            _("You agreed on %(agreed)s and recorded %(hours)s: that is more than three times "
              "as much, or more than 4 hours over. If it really took %(hours)s, confirm it.")
            % {"agreed": _hours(agreed), "hours": _hours(minutes)}
        ]})


@transaction.atomic
def exchange_record_time(*, exchange: Exchange, by: Member, minutes: int,
                         confirm_far_above: bool = False) -> Exchange:
    """A provider of a started service trade records the time their service took (1 to
    6000 minutes; again to correct it, which restarts the other member's 7 days). In a
    one-way trade only the owner provides; in a swap of services each member records
    the service they gave, and only until the other member confirmed it.
    Guarantees: never more than the time bank lets move from the receiver to the
    provider now (ledger.transfer_room: the receiver's credit limit, the provider's
    maximum); a time far above the agreed one (is_far_above) only with
    `confirm_far_above`, else TimeNeedsConfirmation and nothing changes. The state does
    not change; an ExchangeEvent says it ("record_time", or "correct_time" for a new
    time, with the minutes) and `exchange_changed` is sent after commit."""
    locked, role = _lock_service_trade(exchange, by)
    if role != Role.OWNER and not locked.is_service_swap:
        raise ExchangeError(_("Only the provider records the time spent."))
    if locked.state != State.IN_PROGRESS:
        raise ExchangeError(_("The time is recorded once the service has started, before it is confirmed."))
    minutes = _check_minutes(minutes, "minutes")
    if role == Role.OWNER:
        if locked.time_confirmed_at is not None:
            raise ExchangeError(_("%(who)s already confirmed the time you recorded.")
                                % {"who": locked.asker.public_name})
        previous, agreed = locked.actual_minutes, locked.proposed_minutes
        # In a swap the service given back moves the other way in the same posting.
        back = (locked.return_actual_minutes or locked.return_proposed_minutes or 0
                if locked.is_service_swap else 0)
        _record_time_refusals(by, locked.asker, minutes, agreed, confirm_far_above, back)
        locked.actual_minutes, locked.time_recorded_at = minutes, timezone.now()
        fields = ["actual_minutes", "time_recorded_at"]
    else:
        if locked.return_time_confirmed_at is not None:
            raise ExchangeError(_("%(who)s already confirmed the time you recorded.")
                                % {"who": locked.owner.public_name})
        previous, agreed = locked.return_actual_minutes, locked.return_proposed_minutes
        back = locked.actual_minutes or locked.proposed_minutes or 0
        _record_time_refusals(by, locked.owner, minutes, agreed, confirm_far_above, back)
        locked.return_actual_minutes, locked.return_time_recorded_at = minutes, timezone.now()
        fields = ["return_actual_minutes", "return_time_recorded_at"]
    locked.save(update_fields=[*fields, "updated_at"])
    action = "record_time" if previous is None else "correct_time"
    _record(locked, action, by, locked.state, locked.state, minutes=minutes)
    return locked


def can_record_time(exchange: Exchange, member: Member) -> bool:
    """Whether the page offers this member the "record the time spent" form."""
    if exchange.kind != ExchangeKind.SERVICE or exchange.state != State.IN_PROGRESS:
        return False
    role = exchange.role_of(member)
    if role == Role.OWNER:
        return exchange.time_confirmed_at is None
    return (role == Role.ASKER and exchange.is_service_swap
            and exchange.return_time_confirmed_at is None)


@transaction.atomic
def exchange_confirm_time(*, exchange: Exchange, by: Member) -> Exchange:
    """In a started swap of services, a member confirms the time the other member
    recorded for the service they gave (once; the time is then fixed). The second
    confirmation completes the trade, as Partage, in the same transaction: both
    transfers are posted together (post_service_time), and if the ledger refuses
    either, nothing changes, this confirmation included."""
    locked, role = _lock_service_trade(exchange, by)
    if not locked.is_service_swap:
        raise ExchangeError(_("Only a swap of services is confirmed side by side."))
    if locked.state != State.IN_PROGRESS:
        raise ExchangeError(
            _("This exchange is %(state)s: it cannot be changed this way now.")
            % {"state": locked.get_state_display().lower()}
        )
    now = timezone.now()
    if role == Role.ASKER:
        recorded, confirmed, field = locked.actual_minutes, locked.time_confirmed_at, "time_confirmed_at"
    else:
        recorded, confirmed, field = (locked.return_actual_minutes, locked.return_time_confirmed_at,
                                      "return_time_confirmed_at")
    other = locked.other_party(by)
    if recorded is None:
        raise ExchangeError(_("%(who)s has not recorded the time spent yet.") % {"who": other.public_name})
    if confirmed is not None:
        raise ExchangeError(_("You already confirmed this time."))
    setattr(locked, field, now)
    locked.save(update_fields=[field, "updated_at"])
    _record(locked, "confirm_time", by, locked.state, locked.state,
            _("Confirmed %(who)s's time: %(hours)s.") % {"who": other.public_name,
                                                          "hours": _hours(recorded)})
    if locked.time_confirmed_at is not None and locked.return_time_confirmed_at is not None:
        return _transition(
            locked, "complete", None, _("Both times confirmed."),
            lambda trade, listing: _complete_swap(trade, listing, by),
        )
    return locked


def _complete_swap(exchange: Exchange, listing: Listing, confirmed_by: Member) -> None:
    _pay_service_time(exchange, listing, None, created_by=confirmed_by)


def can_confirm_time(exchange: Exchange, member: Member) -> bool:
    """Whether the page offers this member "confirm the other's time" in a swap."""
    if not exchange.is_service_swap or exchange.state != State.IN_PROGRESS:
        return False
    role = exchange.role_of(member)
    if role == Role.ASKER:
        return exchange.actual_minutes is not None and exchange.time_confirmed_at is None
    return (role == Role.OWNER and exchange.return_actual_minutes is not None
            and exchange.return_time_confirmed_at is None)


@transaction.atomic
def exchange_dispute(*, exchange: Exchange, by: Member, note: str) -> Exchange:
    """Either party reports a problem; a moderator settles it later. A reason is required."""
    if not note.strip():
        raise ExchangeError({"note": [_("Tell us what went wrong.")]})
    return _transition(exchange, "dispute", by, note)


def _check_settle_complete(exchange: Exchange, listing: Listing) -> None:
    if exchange.kind == ExchangeKind.SERVICE:
        # The moderator decided: no waiting for confirmations. The same keys as a normal
        # completion (post_service_time), so no time is ever paid twice; a swap pays
        # both services.
        if exchange.actual_minutes is None or (
            exchange.is_service_swap and exchange.return_actual_minutes is None
        ):
            raise ExchangeError(_("The time spent has not been recorded yet."))
        post_service_time(exchange=exchange, listing=listing, created_by=None)
    _close_swapped_and_sold(exchange, listing)


@transaction.atomic
def exchange_settle_complete(*, exchange: Exchange, note: str) -> Exchange:
    """A moderator settles a disputed deal as done, with the effects of a completion
    (a sale or swap closes its listings; a service trade posts its recorded time).
    Only from DISPUTED; the note (the reason) is required and shown in the timeline."""
    if not note.strip():
        raise ExchangeError({"note": [_("Say why it is settled this way.")]})
    return _transition(exchange, "settle_complete", None, note, _check_settle_complete)


@transaction.atomic
def exchange_settle_cancel(*, exchange: Exchange, note: str) -> Exchange:
    """A moderator cancels a disputed deal: its days or seats are free again and, after
    commit, a paid price is refunded and a held deposit released (as for call_off;
    `stripe_reconcile` retries what fails). Only from DISPUTED; a note is required."""
    from exchanges import payments  # payments builds on this module

    if not note.strip():
        raise ExchangeError({"note": [_("Say why it is settled this way.")]})
    cancelled = _transition(exchange, "settle_cancel", None, note)
    transaction.on_commit(lambda: payments.settle_call_off(exchange_id=cancelled.pk))
    return cancelled


ACTIONS: dict[str, Callable[..., Exchange]] = {
    "accept": exchange_accept,
    "decline": exchange_decline,
    "cancel": exchange_cancel,
    "call_off": exchange_call_off,
    "start": exchange_start,
    "complete": exchange_complete,
    "dispute": exchange_dispute,
}


def available_actions(exchange: Exchange, member: Member) -> list[str]:
    """The actions this member may take now, in the table's order (for the page)."""
    role = exchange.role_of(member)
    return [
        action for action in ACTIONS if exchange.can_transition(action, role)
        # A swap of services completes through each side's confirmation, not this button.
        and not (action == "complete" and exchange.is_service_swap)
    ]


# --- Time ---------------------------------------------------------------------------


def requests_due(now: datetime | None = None):
    """Requests whose answer time is over."""
    return Exchange.objects.filter(state=State.REQUESTED, expires_at__lte=now or timezone.now())


def loans_due_for_reminder(today: date | None = None):
    """Running loans past their last day whose borrower was not reminded in 3 days."""
    today = today or timezone.localdate()
    return Exchange.objects.filter(
        kind=ExchangeKind.LOAN, state=State.IN_PROGRESS, end_date__lt=today
    ).filter(
        Q(last_reminder_on__isnull=True)
        | Q(last_reminder_on__lte=today - timedelta(days=REMINDER_EVERY_DAYS))
    )


def service_trades_due(now: datetime | None = None):
    """Started service trades whose time was recorded 7 days ago or more, unanswered. A
    swap of services is due when both times are recorded and each is either confirmed
    or was recorded 7 days ago or more."""
    cutoff = (now or timezone.now()) - SERVICE_CONFIRM_AFTER
    one_way = Q(return_listing__isnull=True, time_recorded_at__lte=cutoff)
    swap = (
        Q(return_listing__isnull=False, actual_minutes__isnull=False,
          return_actual_minutes__isnull=False)
        & (Q(time_confirmed_at__isnull=False) | Q(time_recorded_at__lte=cutoff))
        & (Q(return_time_confirmed_at__isnull=False) | Q(return_time_recorded_at__lte=cutoff))
    )
    return Exchange.objects.filter(kind=ExchangeKind.SERVICE, state=State.IN_PROGRESS).filter(
        one_way | swap
    )


def confirm_due_service_trades(now: datetime | None = None) -> list[Exchange]:
    """Confirm, as Partage, every service trade left unanswered 7 days after its time
    was recorded; each posts its one transfer. Each in its own transaction; one the
    ledger refuses (a limit) or answered meanwhile is skipped and tried next time."""
    confirmed = []
    for pk in service_trades_due(now).values_list("pk", flat=True):
        exchange = Exchange.objects.get(pk=pk)
        try:
            confirmed.append(exchange_complete(
                exchange=exchange, by=None,
                note=_("No answer within 7 days of the time being recorded: confirmed by Partage."),
            ))
        except ExchangeError:
            continue
    return confirmed


def expire_due_requests(now: datetime | None = None) -> list[Exchange]:
    """Expire every request whose time is up. Each in its own transaction, so one
    failure does not stop the others; an exchange answered meanwhile is skipped."""
    now = now or timezone.now()
    expired = []
    for pk in requests_due(now).values_list("pk", flat=True):
        exchange = Exchange.objects.get(pk=pk)
        try:
            expired.append(exchange_expire(exchange=exchange))
        except ExchangeError:
            continue
    return expired


def remind_overdue_loans(today: date | None = None) -> list[Exchange]:
    """Remind borrowers the day after the due date and every 3 days after. Running it
    again the same day sends nothing more (the day of the last reminder is stored)."""
    today = today or timezone.localdate()
    reminded = []
    for pk in loans_due_for_reminder(today).values_list("pk", flat=True):
        with transaction.atomic():
            exchange = Exchange.objects.select_for_update().get(pk=pk)
            if exchange.state != State.IN_PROGRESS:
                continue
            if exchange.last_reminder_on and (today - exchange.last_reminder_on).days < REMINDER_EVERY_DAYS:
                continue
            exchange.last_reminder_on = today
            exchange.save(update_fields=["last_reminder_on", "updated_at"])
            days_late = (today - exchange.end_date).days
            transaction.on_commit(lambda e=exchange, d=days_late: loan_overdue.send(
                sender=Exchange, exchange=e, days_late=d,
            ))
            reminded.append(exchange)
    return reminded
