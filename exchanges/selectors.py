"""Reads the exchange pages share: a member's exchanges, one exchange's timeline, the
requests on a listing and its availability calendar. Each runs a fixed number of
queries, whatever the number of rows."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import geo
from exchanges.models import (
    FINAL_STATES,
    HOLDING_STATES,
    OPEN_STATES,
    BlockedPeriod,
    Exchange,
    ExchangeEvent,
    ExchangeKind,
    Role,
    State,
)
from listings.models import Kind, Listing, Status
from members.models import Member

# How each event reads in the timeline (the transition labels are button texts).
EVENT_LABELS = {
    "request": _("Asked"),
    "accept": _("Accepted"),
    "decline": _("Declined"),
    "cancel": _("Withdrew the request"),
    "call_off": _("Cancelled the deal"),
    "expire": _("Expired without an answer"),
    "pay": _("Payment recorded"),
    "start": _("Confirmed the hand-over"),
    "complete": _("Confirmed it is done"),
    "dispute": _("Reported a problem"),
    "extend_request": _("Asked for more days"),
    "extend": _("Extended the loan"),
    "extend_decline": _("Declined more days"),
    "extend_cancel": _("Withdrew the request for more days"),
    "record_time": _("Recorded the time spent"),
    "correct_time": _("Corrected the time spent"),
    "confirm_time": _("Confirmed the time of the service received"),
    "settle_complete": _("A moderator settled it as done"),
    "settle_cancel": _("A moderator cancelled it; any payment is refunded"),
}


# The same, where a kind has its own words.
KIND_EVENT_LABELS = {
    ("start", ExchangeKind.RIDE): _("Confirmed the departure"),
    ("start", ExchangeKind.SERVICE): _("Confirmed the service has started"),
    ("complete", ExchangeKind.RIDE): _("Confirmed the arrival"),
    ("complete", ExchangeKind.LOAN): _("Confirmed it was returned"),
}


def _with_parties(queryset: QuerySet[Exchange]) -> QuerySet[Exchange]:
    return queryset.select_related("listing", "asker", "owner")


def active_exchanges_of(member: Member) -> QuerySet[Exchange]:
    """The member's open deals, as asker and as owner, latest first (one query).
    Open deals are few by nature; the page shows them all."""
    return _with_parties(Exchange.objects.for_member(member).filter(state__in=OPEN_STATES))


def past_exchanges_of(member: Member) -> QuerySet[Exchange]:
    """The member's finished deals, latest change first; the page paginates them."""
    return _with_parties(
        Exchange.objects.for_member(member).filter(state__in=FINAL_STATES)
    ).order_by("-updated_at", "-id")


def exchange_for_party(member: Member, pk: int) -> Exchange | None:
    """The exchange if this member is one of its two parties, else None."""
    return (
        _with_parties(Exchange.objects.for_member(member))
        .prefetch_related(
            Prefetch("offered_listings", queryset=Listing.objects.order_by("title"))
        )
        .filter(pk=pk)
        .first()
    )


def exchange_version(exchange: Exchange, events: list[ExchangeEvent]) -> str:
    """What an open page of the deal shows, as a token, from the deal and its timeline
    (no query): it changes with every move (each writes an event) and every change to
    the deal's row."""
    last_event = max((event.pk for event in events), default=0)
    return f"{exchange.updated_at.timestamp():.6f}-{last_event}"


def timeline(exchange: Exchange) -> list[ExchangeEvent]:
    """The exchange's events, oldest first, each with a readable `label`, the states it
    went between (`from_label` only when the state changed), and for a corrected time
    the time it replaced (`replaced_minutes`). One query."""
    events = list(exchange.events.select_related("actor").order_by("at", "id"))
    recorded: dict[int | None, int] = {}  # each provider's last recorded time
    for event in events:
        event.label = (KIND_EVENT_LABELS.get((event.action, exchange.kind))
                       or EVENT_LABELS.get(event.action, event.action))
        changed = event.from_state != event.to_state
        event.from_label = State(event.from_state).label if changed and event.from_state in State.values else ""
        event.to_label = State(event.to_state).label if event.to_state in State.values else event.to_state
        event.replaced_minutes = None
        if event.action in ("record_time", "correct_time") and event.minutes is not None:
            event.replaced_minutes = recorded.get(event.actor_id) if event.action == "correct_time" else None
            recorded[event.actor_id] = event.minutes
    return events


def open_requests_for(listing: Listing) -> list[Exchange]:
    """The open deals on an owner's listing, oldest first (one query)."""
    return list(
        Exchange.objects.filter(listing=listing, state__in=OPEN_STATES)
        .select_related("asker")
        .order_by("requested_at", "id")
    )


def open_request_of(member: Member, listing: Listing) -> Exchange | None:
    return Exchange.objects.filter(
        listing=listing, asker=member, state__in=OPEN_STATES
    ).first()


def swappable_listings_of(member: Member, *, besides: Listing | None = None) -> QuerySet[Listing]:
    """The member's own active tools and items they may offer in a swap."""
    listings = Listing.objects.filter(owner=member, kind=Kind.ITEM, status=Status.ACTIVE)
    if besides is not None:
        listings = listings.exclude(pk=besides.pk)
    return listings.order_by("title", "id")


def blocked_periods_of(listing: Listing, *, today: date | None = None) -> list[BlockedPeriod]:
    """The periods the owner blocked that are not over yet."""
    today = today or timezone.localdate()
    return list(listing.blocked_periods.filter(end_date__gte=today).order_by("start_date", "id"))


# --- The availability calendar ---------------------------------------------------------


@dataclass
class Day:
    date: date
    in_month: bool
    past: bool = False
    taken: bool = False
    blocked: bool = False
    today: bool = False

    @property
    def free(self) -> bool:
        return self.in_month and not (self.past or self.taken or self.blocked)

    @property
    def status(self) -> str:
        if not self.in_month:
            return ""
        if self.past:
            return "past"
        if self.taken:
            return "taken"
        if self.blocked:
            return "blocked"
        return "free"


@dataclass
class Month:
    first: date
    weeks: list[list[Day]] = field(default_factory=list)


def parse_month(text: str | None, *, today: date | None = None) -> date:
    """'2025-07' -> 2025-07-01, kept between this month and a year ahead (where loans
    can be asked); anything else is this month."""
    today = today or timezone.localdate()
    this_month = today.replace(day=1)
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        first = date(year, month, 1)
    except (TypeError, ValueError):
        return this_month
    last_allowed = add_months(this_month, 12)
    return min(max(first, this_month), last_allowed)


def add_months(first: date, count: int) -> date:
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def availability_calendar(
    listing: Listing, *, first_month: date, months: int = 2, today: date | None = None
) -> list[Month]:
    """Month grids (weeks from Monday) marking past days, days held by a loan (its
    buffer days included) and days the owner blocked. Two queries, whatever the months."""
    today = today or timezone.localdate()
    weeks_of = calendar.Calendar(firstweekday=0)
    grids = [add_months(first_month.replace(day=1), n) for n in range(months)]
    start = grids[0]
    end = add_months(grids[-1], 1) - timedelta(days=1)

    taken = list(
        Exchange.objects.filter(
            listing=listing, kind=ExchangeKind.LOAN, state__in=HOLDING_STATES,
            start_date__lte=end, blocked_until__gte=start,
        ).values_list("start_date", "blocked_until")
    )
    blocked = list(
        BlockedPeriod.objects.filter(
            listing=listing, start_date__lte=end, end_date__gte=start
        ).values_list("start_date", "end_date")
    )

    result = []
    for first in grids:
        month = Month(first=first)
        for week in weeks_of.monthdatescalendar(first.year, first.month):
            month.weeks.append([
                Day(
                    date=day,
                    in_month=day.month == first.month,
                    past=day < today,
                    today=day == today,
                    taken=any(a <= day <= b for a, b in taken),
                    blocked=any(a <= day <= b for a, b in blocked),
                )
                for day in week
            ])
        result.append(month)
    return result


def exact_place_for(exchange: Exchange, member) -> geo.Point | None:
    """The listing's exact point, shown only to the member who asked, and only while an
    accepted deal holds it: public pages never go below the ~500 m approximation."""
    listing = exchange.listing
    if (
        exchange.role_of(member) == Role.ASKER
        and exchange.state in HOLDING_STATES
        and listing.lat is not None
        and listing.lng is not None
    ):
        return geo.Point(listing.lat, listing.lng)
    return None
