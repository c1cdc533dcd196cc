"""The owner's blocked days: writes, kept apart from services.py only so that this slice
and the payments slice do not edit one file at once (merge them later if you like).

Both lock the listing row first, like every exchange transition, so blocking days and
accepting a loan on them cannot both succeed.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import day
from exchanges.models import BlockedPeriod
from exchanges.services import MAX_LOAN_ADVANCE_DAYS, ExchangeError, taken_loan_periods
from listings.models import Kind, Listing, Status, Terms
from members.models import Member

MAX_BLOCKED_DAYS = 366


def _lock_own_loan_listing(listing: Listing, by: Member) -> Listing:
    locked = Listing.objects.select_for_update().get(pk=listing.pk)
    if locked.owner_id != by.pk:
        raise ExchangeError(_("Only the owner can change this listing."))
    if locked.status == Status.REMOVED:
        raise ExchangeError(_("A moderator removed this listing; it cannot be changed."))
    if locked.kind != Kind.ITEM or locked.terms != Terms.LEND:
        raise ExchangeError(_("Only a listing that is lent has a calendar."))
    return locked


@transaction.atomic
def blocked_period_add(
    *, listing: Listing, by: Member, start_date: date, end_date: date, note: str = ""
) -> BlockedPeriod:
    """Keep days of one's own loan listing free. Guarantees: the days are today or later,
    in order, at most a year long and a year ahead, and no accepted loan holds them (call
    that loan off first); nothing is written otherwise."""
    locked = _lock_own_loan_listing(listing, by)
    today = timezone.localdate()
    if start_date < today:
        raise ExchangeError({"start_date": [_("Blocked days cannot start in the past.")]})
    if end_date < start_date:
        raise ExchangeError({"end_date": [_("The last day comes after the first.")]})
    if (end_date - start_date).days + 1 > MAX_BLOCKED_DAYS:
        raise ExchangeError({"end_date": [_("Block at most a year at once.")]})
    if start_date > today + timedelta(days=MAX_LOAN_ADVANCE_DAYS):
        raise ExchangeError({"start_date": [_("Block at most a year ahead.")]})
    for taken_start, taken_until in taken_loan_periods(locked):
        if start_date <= taken_until and taken_start <= end_date:
            raise ExchangeError({"start_date": [
                _("A loan you accepted holds some of these days (%(start)s – %(end)s).")
                % {"start": day(taken_start), "end": day(taken_until)}
            ]})
    period = BlockedPeriod(
        listing=locked, start_date=start_date, end_date=end_date, note=note.strip()[:200]
    )
    period.full_clean()
    period.save()
    return period


@transaction.atomic
def blocked_period_delete(*, period: BlockedPeriod, by: Member) -> None:
    """Free the days again (only the listing's owner)."""
    _lock_own_loan_listing(period.listing, by)
    BlockedPeriod.objects.filter(pk=period.pk).delete()
