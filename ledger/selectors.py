"""Reads of the ledger: statements, chart points and the public given/received figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from ledger.models import Account, Entry, Transfer
from members.models import Member

CHART_DAYS = 90
CHART_MAX_POINTS = 200


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def statement_entries(
    account: Account, *, date_from: date | None = None, date_to: date | None = None
) -> QuerySet[Entry]:
    """The account's lines, oldest first, with both sides of each transfer loaded, so a
    statement shows the other party without one query per line. `date_to` is inclusive."""
    entries = Entry.objects.filter(account=account).select_related(
        "transfer__from_account__member", "transfer__to_account__member", "transfer__reverses"
    )
    if date_from:
        entries = entries.filter(created_at__gte=_start_of(date_from))
    if date_to:
        entries = entries.filter(created_at__lt=_start_of(date_to + timedelta(days=1)))
    return entries.order_by("created_at", "id")


def other_party(entry: Entry) -> Member:
    """The member on the other side of this line."""
    transfer = entry.transfer
    if entry.minutes < 0:
        return transfer.to_account.member
    return transfer.from_account.member


def balance_points(account: Account, *, now: datetime | None = None) -> list[tuple[datetime, int]]:
    """Balance over the last CHART_DAYS days, at most CHART_MAX_POINTS points, oldest first.
    The first point is the balance at the start of the window (or before the oldest line
    shown), the last one today's balance, so a flat period still draws a line."""
    now = now or timezone.now()
    since = now - timedelta(days=CHART_DAYS)
    recent = list(
        Entry.objects.filter(account=account, created_at__gte=since)
        .order_by("-created_at", "-id")
        .values_list("created_at", "balance_after", "minutes")[:CHART_MAX_POINTS]
    )
    recent.reverse()
    if recent:
        first_at, first_balance, first_minutes = recent[0]
        start_at = since if len(recent) < CHART_MAX_POINTS else first_at
        points = [(start_at, first_balance - first_minutes)]
        points += [(at, balance) for at, balance, _minutes in recent]
    else:
        points = [(since, account.balance_minutes)]
    points.append((now, account.balance_minutes))
    return points


@dataclass(frozen=True)
class GivenReceived:
    given: int
    received: int


def hours_given_received(member: Member) -> GivenReceived:
    """Minutes the member paid and was paid, in one query. A transfer that was reversed
    and its reversal are both left out: the pair undid itself, and counting the reversal
    would show the payee as having given time they never gave."""
    totals = Transfer.objects.filter(
        Q(from_account__member=member) | Q(to_account__member=member),
        reverses__isnull=True,
        reversed_by__isnull=True,
    ).aggregate(
        given=Sum("minutes", filter=Q(from_account__member=member)),
        received=Sum("minutes", filter=Q(to_account__member=member)),
    )
    return GivenReceived(given=totals["given"] or 0, received=totals["received"] or 0)
