"""Reviews after completed exchanges, and the reputation figures they add up to.

Each party of a completed exchange may review the other once, within REVIEW_WINDOW of
the completion. Reviews are double-blind: nobody but its author sees a review until
both parties have reviewed or the window has closed; then both are published together
(reviews/services.py). A member's Reputation row sums their published reviews that no
moderator hid, so listing searches can join it instead of counting per listing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exchanges.models import Exchange, ExchangeKind, Role

REVIEW_WINDOW = timedelta(days=14)
# The second (and last) reminder goes out when this much of the window is left.
REMIND_BEFORE_CLOSE = timedelta(days=3)
MAX_TEXT = 2000
MIN_RATING, MAX_RATING = 1, 5


class ReviewRole(models.TextChoices):
    """The role the reviewed member had in the exchange."""

    LENDER = "lender", _("lender")
    BORROWER = "borrower", _("borrower")
    DRIVER = "driver", _("driver")
    PASSENGER = "passenger", _("passenger")
    PROVIDER = "provider", _("provider")
    RECEIVER = "receiver", _("receiver")
    SELLER = "seller", _("seller")
    BUYER = "buyer", _("buyer")
    SWAP_PARTNER = "swap_partner", _("swap partner")


# Exchange kind -> (the owner's role, the asker's role).
ROLES_BY_KIND: dict[str, tuple[str, str]] = {
    ExchangeKind.LOAN: (ReviewRole.LENDER, ReviewRole.BORROWER),
    ExchangeKind.RIDE: (ReviewRole.DRIVER, ReviewRole.PASSENGER),
    ExchangeKind.SERVICE: (ReviewRole.PROVIDER, ReviewRole.RECEIVER),
    ExchangeKind.SALE: (ReviewRole.SELLER, ReviewRole.BUYER),
    ExchangeKind.SWAP: (ReviewRole.SWAP_PARTNER, ReviewRole.SWAP_PARTNER),
}


def role_in(exchange: Exchange, member) -> str | None:
    """The review role `member` had in `exchange`, or None if not a party."""
    owner_role, asker_role = ROLES_BY_KIND[exchange.kind]
    return {Role.OWNER: owner_role, Role.ASKER: asker_role}.get(exchange.role_of(member))


class ReviewWindow(models.Model):
    """The 14 days after an exchange completed during which its parties may review each
    other. One row per completed exchange; also the row the publishing and reminding
    steps of the tick walk, so each is done once."""

    exchange = models.OneToOneField(
        Exchange, on_delete=models.CASCADE, primary_key=True, related_name="review_window"
    )
    completed_at = models.DateTimeField()
    closes_at = models.DateTimeField(db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # When its reviews were published: both were in, or the window closed.
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("review window")
        verbose_name_plural = _("review windows")
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("completed_at")),
                                   name="review_window_closes_after_completion"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id}: until {self.closes_at:%Y-%m-%d %H:%M}"

    def is_open(self, now=None) -> bool:
        return self.published_at is None and (now or timezone.now()) < self.closes_at


class ReviewQuerySet(models.QuerySet):
    def published(self) -> ReviewQuerySet:
        return self.filter(published_at__isnull=False)

    def public(self) -> ReviewQuerySet:
        """What anyone may read: published and not hidden by a moderator."""
        return self.published().filter(hidden_at__isnull=True)

    def visible_to(self, member) -> ReviewQuerySet:
        """Public reviews, plus the member's own whatever their state (the blind rule:
        an unpublished review is its author's alone)."""
        if member is None or not member.is_authenticated:
            return self.public()
        return self.filter(Q(published_at__isnull=False, hidden_at__isnull=True) | Q(author=member))


class Review(models.Model):
    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_written"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_received"
    )
    # The subject's role in the exchange: their reputation is also counted per role.
    role = models.CharField(_("role"), max_length=16, choices=ReviewRole.choices)
    rating = models.PositiveSmallIntegerField(_("rating"))
    text = models.TextField(_("review"), blank=True, max_length=MAX_TEXT)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Set by a moderator (review_remove): out of every page and every figure.
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.TextField(blank=True, max_length=MAX_TEXT)
    reply = models.TextField(_("reply"), blank=True, max_length=MAX_TEXT)
    replied_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        indexes = [
            # A member's public reviews, newest first (profile and reviews page).
            models.Index(fields=["subject", "-published_at"], name="review_subject_published_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "author"], name="review_once_per_exchange"),
            models.CheckConstraint(condition=~Q(author=F("subject")), name="review_not_of_oneself"),
            models.CheckConstraint(condition=Q(rating__gte=MIN_RATING, rating__lte=MAX_RATING),
                                   name="review_rating_1_to_5"),
            models.CheckConstraint(condition=Q(role__in=ReviewRole.values), name="review_role_known"),
            models.CheckConstraint(condition=LessThanOrEqual(Length("text"), MAX_TEXT),
                                   name="review_text_at_most_2000"),
            models.CheckConstraint(condition=LessThanOrEqual(Length("reply"), MAX_TEXT),
                                   name="review_reply_at_most_2000"),
            # A reply exists exactly when it has a date, and only on a published review.
            models.CheckConstraint(
                condition=(Q(reply="") & Q(replied_at__isnull=True))
                | (~Q(reply="") & Q(replied_at__isnull=False) & Q(published_at__isnull=False)),
                name="review_reply_dated_and_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_id} → {self.subject_id} ({self.rating}/5, exchange {self.exchange_id})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Reputation(models.Model):
    """A member's figures from their public reviews. Rewritten from the reviews in the
    transaction that publishes, hides or restores one (services.reputation_recompute),
    so it never drifts; searches join it (no query per listing) and filter on
    `average`."""

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
        related_name="reputation",
    )
    count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    # Rounded to two decimals; None without reviews (a newcomer is not a 0-star member).
    average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True,
                                  db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reputation")
        verbose_name_plural = _("reputations")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating_sum__gte=F("count") * MIN_RATING)
                & Q(rating_sum__lte=F("count") * MAX_RATING),
                name="reputation_sum_within_count",
            ),
            models.CheckConstraint(
                condition=(Q(count=0) & Q(average__isnull=True))
                | (Q(count__gt=0) & Q(average__gte=MIN_RATING) & Q(average__lte=MAX_RATING)),
                name="reputation_average_iff_reviews",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.average} ({self.count})"


def average_of(rating_sum: int, count: int) -> Decimal | None:
    if not count:
        return None
    return (Decimal(rating_sum) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

