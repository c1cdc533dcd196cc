"""Reads the review pages and panels share. Each runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from exchanges.models import Exchange, State
from members.models import Member
from reviews.models import (
    REVIEW_WINDOW,
    Reputation,
    Review,
    ReviewRole,
    ReviewWindow,
    average_of,
    role_in,
)
from reviews.services import expected_window


@dataclass(frozen=True)
class RoleFigures:
    role: str
    label: str
    count: int
    average: Decimal | None


@dataclass(frozen=True)
class Figures:
    count: int
    average: Decimal | None
    by_role: list[RoleFigures] = field(default_factory=list)


def public_reviews_of(member: Member) -> QuerySet[Review]:
    """The member's published reviews nobody hid, newest first, authors joined."""
    return (
        Review.objects.public().filter(subject=member)
        .select_related("author").order_by("-published_at", "-id")
    )


def figures_of(member: Member) -> Figures:
    """Average and count overall and per role, from the public reviews (one query)."""
    rows = list(
        Review.objects.public().filter(subject=member).order_by()
        .values("role").annotate(count=Count("id"), total=Sum("rating"))
    )
    labels = dict(ReviewRole.choices)
    by_role = sorted(
        (RoleFigures(row["role"], str(labels.get(row["role"], row["role"])), row["count"],
                     average_of(row["total"], row["count"])) for row in rows),
        key=lambda figures: (-figures.count, figures.label),
    )
    count = sum(row["count"] for row in rows)
    rating_sum = sum(row["total"] for row in rows)
    return Figures(count=count, average=average_of(rating_sum, count), by_role=by_role)


def cached_reputation(member: Member | None) -> Reputation | None:
    """The reputation joined onto `member` by select_related("...reputation"), without
    ever querying: a listing card must cost no query. None when not joined or when
    the member has no review."""
    if member is None:
        return None
    reputation = member._state.fields_cache.get("reputation")
    if reputation is None or not reputation.count:
        return None
    return reputation


def reputation_of(member: Member) -> Reputation | None:
    """The member's reputation, joined if it was, else read (one query)."""
    if "reputation" not in member._state.fields_cache:
        try:
            member.reputation  # noqa: B018 - fills the cache
        except Reputation.DoesNotExist:
            return None
    return cached_reputation(member)


@dataclass
class ExchangePanel:
    """What the review part of an exchange page shows to one of its parties."""

    window: ReviewWindow
    other: Member
    other_role: str
    mine: Review | None
    theirs: Review | None  # only once published and not hidden
    is_open: bool
    days_left: int

    @property
    def other_role_label(self) -> str:
        return str(ReviewRole(self.other_role).label)

    @property
    def can_write(self) -> bool:
        return self.is_open and self.mine is None

    @property
    def can_edit(self) -> bool:
        return self.is_open and self.mine is not None and not self.mine.is_published

    @property
    def can_reply(self) -> bool:
        return bool(self.theirs and not self.theirs.replied_at)


def exchange_panel(exchange: Exchange, member: Member, now: datetime | None = None,
                   events=None) -> ExchangePanel | None:
    """The review panel of a completed exchange for one of its parties, or None before
    completion or for anyone else. One query (its reviews) when the page passes the
    exchange's events, which say when it completed: the window is computed from them,
    as it was stored."""
    if exchange.state != State.COMPLETED or exchange.role_of(member) is None:
        return None
    now = now or timezone.now()
    completed = next((e.at for e in events or () if e.to_state == State.COMPLETED), None)
    if completed is None:
        window = expected_window(exchange)
    else:
        window = ReviewWindow(exchange=exchange, completed_at=completed,
                              closes_at=completed + REVIEW_WINDOW)
    mine = theirs = None
    reviews = list(Review.objects.filter(exchange=exchange).select_related("author", "subject"))
    for review in reviews:
        if review.author_id == member.pk:
            mine = review
        elif review.is_published and not review.is_hidden:
            theirs = review
    other = exchange.other_party(member)
    # Both reviews in means published and closed, whatever the clock says.
    is_open = len(reviews) < 2 and window.is_open(now)
    seconds = max(0, (window.closes_at - now).total_seconds())
    return ExchangePanel(
        window=window, other=other, other_role=role_in(exchange, other), mine=mine,
        theirs=theirs, is_open=is_open, days_left=max(1, int(-(-seconds // 86400))),
    )
