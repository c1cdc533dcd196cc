"""Every change to reviews: write, edit before publication, publish, reply, hide and
restore; the review windows the tick walks; and the reputation figures.

Locks, always in this order so two operations never wait on each other crosswise: the
exchange row, then its review window, then its reviews, then the Reputation rows (by
member id). Notifications go out after commit: they never describe a change that
rolled back.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from exchanges.models import Exchange, ExchangeEvent, State
from members.models import Member
from messaging import services as notifications
from messaging.models import NotificationKind
from reviews.models import (
    MAX_RATING,
    MAX_TEXT,
    MIN_RATING,
    REMIND_BEFORE_CLOSE,
    REVIEW_WINDOW,
    Reputation,
    Review,
    ReviewWindow,
    average_of,
    role_in,
)

logger = logging.getLogger(__name__)


class ReviewError(ValidationError):
    """A review action the rules refuse; its message is meant for the member."""


# --- Input ---------------------------------------------------------------------------


def _clean_rating(rating: Any) -> int:
    if isinstance(rating, bool):
        rating = None
    try:
        value = int(rating)
        # "4" and 4 are a rating; 4.5, "4.0" and absurdly long integers are not.
        if str(rating).strip() != str(value):
            value = None
    except (TypeError, ValueError, OverflowError):
        value = None
    if value is None or not MIN_RATING <= value <= MAX_RATING:
        raise ReviewError({"rating": [_("Choose a rating from 1 to 5 stars.")]})
    return value


def _clean_text(text: Any, field: str = "text", *, required: bool = True) -> str:
    if text is not None and not isinstance(text, str):
        raise ReviewError({field: [_("Write it as text.")]})
    text = (text or "").strip()
    if not text and required:
        raise ReviewError({field: [_("Write a few words: the text cannot be empty.")]})
    if len(text) > MAX_TEXT:
        raise ReviewError({field: [
            _("Keep it to %(max)s characters (it has %(count)s).") % {"max": MAX_TEXT, "count": len(text)}
        ]})
    return text


def _clean_review(rating: Any, text: Any) -> tuple[int, str]:
    """Both fields checked, both errors reported at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    # Stars alone are a review: many members have nothing to add to "it went well".
    review_text = partial(_clean_text, required=False)
    for name, clean, value in (("rating", _clean_rating, rating), ("text", review_text, text)):
        try:
            values[name] = clean(value)
        except ReviewError as error:
            errors.update(error.message_dict)
    if errors:
        raise ReviewError(errors)
    return values["rating"], values["text"]


# --- Review windows ------------------------------------------------------------------


def completion_time(exchange: Exchange) -> datetime:
    """When the exchange completed: its `complete` event (the audit trail is the
    truth); a deal completed without one, as admin repairs may leave it, counts from
    its last change."""
    event = (
        ExchangeEvent.objects.filter(exchange=exchange, to_state=State.COMPLETED)
        .order_by("at", "id").first()
    )
    return event.at if event is not None else exchange.updated_at


def expected_window(exchange: Exchange) -> ReviewWindow:
    """The exchange's window, or the one it will get (unsaved): pages read it without
    writing."""
    try:
        return exchange.review_window
    except ReviewWindow.DoesNotExist:
        completed_at = completion_time(exchange)
        return ReviewWindow(exchange=exchange, completed_at=completed_at,
                            closes_at=completed_at + REVIEW_WINDOW)


def review_window_open(*, exchange: Exchange) -> tuple[ReviewWindow, bool]:
    """The review window of a completed exchange, made if it has none (completion time
    + 14 days). Idempotent, also under a race: the exchange is the window's primary
    key. Returns (window, created)."""
    if exchange.state != State.COMPLETED:
        raise ReviewError(_("You can review once the exchange is completed."))
    completed_at = completion_time(exchange)
    return ReviewWindow.objects.get_or_create(
        exchange=exchange,
        defaults={"completed_at": completed_at, "closes_at": completed_at + REVIEW_WINDOW},
    )


def _days_left(window: ReviewWindow, now: datetime) -> int:
    return max(1, math.ceil((window.closes_at - now).total_seconds() / 86400))


def _parties_without_review(exchange: Exchange) -> list[Member]:
    reviewed = set(Review.objects.filter(exchange=exchange).values_list("author_id", flat=True))
    return [m for m in (exchange.owner, exchange.asker) if m.pk not in reviewed]


def _ask_for_reviews(exchange_id: int, kind: str, key: str) -> None:
    """Notify (and email) each party who has not reviewed yet, once per kind."""
    exchange = Exchange.objects.select_related("listing", "owner", "asker", "review_window").get(
        pk=exchange_id
    )
    window = exchange.review_window
    now = timezone.now()
    if not window.is_open(now):
        return
    for member in _parties_without_review(exchange):
        notification, created = notifications.notification_create(
            member=member, kind=kind, dedupe_key=f"{key}:{exchange.pk}",
            params={"who": exchange.other_party(member).public_name,
                    "listing": exchange.listing.title, "days": _days_left(window, now)},
            url=exchange.get_absolute_url(), exchange=exchange, needs_action=True,
        )
        if created:
            notifications.notification_email(notification=notification)


def review_invite(*, exchange: Exchange) -> ReviewWindow:
    """Open the exchange's window if needed and, after commit, invite both parties to
    review (notification and email), once each whatever the number of calls."""
    with transaction.atomic():
        window, _created = review_window_open(exchange=exchange)
        transaction.on_commit(
            lambda: _ask_for_reviews(exchange.pk, NotificationKind.REVIEW_INVITED, "review-invited")
        )
    return window


# --- Writing ---------------------------------------------------------------------------


def _lock_exchange(exchange: Exchange) -> Exchange:
    return Exchange.objects.select_for_update().select_related("listing").get(pk=exchange.pk)


@transaction.atomic
def review_submit(*, exchange: Exchange, author: Member, rating: Any, text: Any) -> Review:
    """`author` reviews the other party of `exchange`. Guarantees: the author is a party,
    the exchange is completed, its 14 days are not over, the author has not reviewed it
    yet (also under a race: the exchange row is locked, and the database keeps one
    review per author and exchange), the rating is 1 to 5 and the text, which may be
    empty, at most 2,000 characters; otherwise ReviewError and nothing is saved. The review stays its
    author's alone until the other party's is in: the second one publishes both, in
    this transaction. After commit the author's invitation and reminder to review are
    settled."""
    locked = _lock_exchange(exchange)
    if locked.role_of(author) is None:
        raise ReviewError(_("You are not part of this exchange."))
    if locked.state != State.COMPLETED:
        raise ReviewError(_("You can review once the exchange is completed."))
    window, _created = review_window_open(exchange=locked)
    if Review.objects.filter(exchange=locked, author=author).exists():
        raise ReviewError(_("You have already reviewed this exchange."))
    now = timezone.now()
    if not window.is_open(now):
        raise ReviewError(_("The 14 days to review this exchange are over."))
    rating, text = _clean_review(rating, text)
    subject = locked.other_party(author)
    review = Review.objects.create(
        exchange=locked, author=author, subject=subject, role=role_in(locked, subject),
        rating=rating, text=text, created_at=now,
    )
    if Review.objects.filter(exchange=locked).count() == 2:
        _publish(window, now)
        review.refresh_from_db()
    # Written: the invitation and the reminder asking for it are settled, on every device.
    transaction.on_commit(lambda: notifications.notifications_settle(
        exchange=locked, member=author,
        kinds=[NotificationKind.REVIEW_INVITED, NotificationKind.REVIEW_REMINDER],
    ))
    return review


@transaction.atomic
def review_edit(*, review: Review, by: Member, rating: Any, text: Any) -> Review:
    """The author changes their review while it is unpublished and the window open.
    A published review is never edited (only replied to)."""
    _lock_exchange(review.exchange)
    review = Review.objects.select_related("exchange").get(pk=review.pk)
    if review.author_id != by.pk:
        raise ReviewError(_("Only its author can change a review."))
    if review.is_published:
        raise ReviewError(_("A published review cannot be changed."))
    window = expected_window(review.exchange)
    if not window.is_open():
        raise ReviewError(_("The 14 days to review this exchange are over."))
    review.rating, review.text = _clean_review(rating, text)
    review.save(update_fields=["rating", "text", "updated_at"])
    return review


@transaction.atomic
def review_reply(*, review: Review, by: Member, text: Any) -> Review:
    """The reviewed member answers a published review, once, publicly."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.subject_id != by.pk:
        raise ReviewError(_("Only the reviewed member can reply."))
    if not review.is_published or review.is_hidden:
        raise ReviewError(_("You can reply once the review is published."))
    if review.replied_at is not None:
        raise ReviewError(_("You have already replied to this review."))
    review.reply = _clean_text(text, "reply")
    review.replied_at = timezone.now()
    review.save(update_fields=["reply", "replied_at", "updated_at"])
    review_id = review.pk
    transaction.on_commit(lambda: _notify_reply(review_id))
    return review


# --- Publication -----------------------------------------------------------------------


def _publish(window: ReviewWindow, now: datetime) -> list[int]:
    """Publish every unpublished review of the window's exchange at the same moment,
    close the window and rewrite the subjects' figures. The caller holds the
    exchange's lock."""
    pending = list(
        Review.objects.select_for_update()
        .filter(exchange_id=window.exchange_id, published_at__isnull=True)
        .order_by("id")
    )
    ids = [review.pk for review in pending]
    Review.objects.filter(pk__in=ids).update(published_at=now, updated_at=now)
    ReviewWindow.objects.filter(pk=window.pk).update(published_at=now)
    window.published_at = now
    _recompute_all({review.subject_id for review in pending})
    if ids:
        transaction.on_commit(lambda: [_notify_published(pk) for pk in ids])
    # The window is closed: whoever has not reviewed can no longer, so asking is moot.
    exchange_id = window.exchange_id
    transaction.on_commit(lambda: notifications.notifications_settle(
        exchange=Exchange(pk=exchange_id),
        kinds=[NotificationKind.REVIEW_INVITED, NotificationKind.REVIEW_REMINDER],
    ))
    return ids


def windows_due_for_publication(now: datetime | None = None):
    return ReviewWindow.objects.filter(published_at__isnull=True, closes_at__lte=now or timezone.now())


def reviews_publish_due(now: datetime | None = None) -> list[Review]:
    """Publish the reviews whose window closed with only one review in (or none: the
    window is closed all the same). Idempotent: a closed window is never walked again.
    Returns the reviews published."""
    now = now or timezone.now()
    published: list[int] = []
    for window_pk in list(windows_due_for_publication(now).values_list("pk", flat=True)):
        with transaction.atomic():
            Exchange.objects.select_for_update().filter(pk=window_pk).first()
            window = ReviewWindow.objects.select_for_update().get(pk=window_pk)
            if window.published_at is None and window.closes_at <= now:
                published += _publish(window, now)
    return list(Review.objects.filter(pk__in=published).order_by("id"))


def windows_due_for_reminder(now: datetime | None = None):
    now = now or timezone.now()
    return ReviewWindow.objects.filter(
        published_at__isnull=True, reminded_at__isnull=True,
        closes_at__gt=now, closes_at__lte=now + REMIND_BEFORE_CLOSE,
    )


def reviews_remind_due(now: datetime | None = None) -> list[ReviewWindow]:
    """Remind, once per window, the parties who have not reviewed when 3 days are
    left (notification and email). Returns the windows reminded."""
    now = now or timezone.now()
    reminded = []
    for window_pk in list(windows_due_for_reminder(now).values_list("pk", flat=True)):
        with transaction.atomic():
            claimed = ReviewWindow.objects.filter(pk=window_pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if claimed:
                transaction.on_commit(lambda pk=window_pk: _ask_for_reviews(
                    pk, NotificationKind.REVIEW_REMINDER, "review-reminder"
                ))
                reminded.append(window_pk)
    return list(ReviewWindow.objects.filter(pk__in=reminded).order_by("pk"))


def completed_without_window():
    return Exchange.objects.filter(state=State.COMPLETED, review_window__isnull=True)


def review_windows_open_missing() -> list[ReviewWindow]:
    """Open the windows a completion signal did not (its receiver failed, or the
    deal was completed before reviews existed); invite when still open."""
    opened = []
    for exchange in completed_without_window().order_by("pk"):
        window = review_invite(exchange=exchange)
        opened.append(window)
    return opened


# --- Moderation --------------------------------------------------------------------------


@transaction.atomic
def review_remove(*, review: Review, by: Member | None = None, reason: str = "") -> Review:
    """Hide a review from every page and figure (a moderator's decision; the moderation
    app calls this). Idempotent: hiding a hidden review changes nothing."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.hidden_at is None:
        review.hidden_at = timezone.now()
        review.hidden_reason = (reason or "").strip()[:MAX_TEXT]
        review.save(update_fields=["hidden_at", "hidden_reason", "updated_at"])
        _recompute_all({review.subject_id})
    return review


@transaction.atomic
def review_restore(*, review: Review, by: Member | None = None) -> Review:
    """Show a hidden review again; its figures count it again once it is published."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.hidden_at is not None:
        review.hidden_at = None
        review.hidden_reason = ""
        review.save(update_fields=["hidden_at", "hidden_reason", "updated_at"])
        _recompute_all({review.subject_id})
    return review


# --- Reputation ----------------------------------------------------------------------------


def _recompute_all(member_ids: set[int]) -> None:
    for member_id in sorted(member_ids):
        reputation_recompute(member_id=member_id)


@transaction.atomic
def reputation_recompute(*, member_id: int) -> Reputation:
    """Rewrite the member's figures from their public reviews. The Reputation row is
    locked before counting, so two publications for one member in parallel are counted
    one after the other and neither is lost."""
    Reputation.objects.get_or_create(member_id=member_id)
    reputation = Reputation.objects.select_for_update().get(member_id=member_id)
    figures = Review.objects.public().filter(subject_id=member_id).aggregate(
        count=Count("id"), total=Sum("rating")
    )
    reputation.count = figures["count"]
    reputation.rating_sum = figures["total"] or 0
    reputation.average = average_of(reputation.rating_sum, reputation.count)
    reputation.save(update_fields=["count", "rating_sum", "average", "updated_at"])
    return reputation


# --- Notifications (after commit) ---------------------------------------------------------


def _notify_published(review_id: int) -> None:
    review = Review.objects.select_related("author", "subject", "exchange__listing").get(pk=review_id)
    if review.hidden_at is not None:
        return
    notifications.notification_create(
        member=review.subject, kind=NotificationKind.REVIEW_PUBLISHED,
        dedupe_key=f"review-published:{review.pk}",
        params={"who": review.author.public_name, "listing": review.exchange.listing.title},
        url=review.exchange.get_absolute_url(), exchange=review.exchange,
    )


def _notify_reply(review_id: int) -> None:
    review = Review.objects.select_related("author", "subject", "exchange__listing").get(pk=review_id)
    notifications.notification_create(
        member=review.author, kind=NotificationKind.REVIEW_REPLIED,
        dedupe_key=f"review-replied:{review.pk}",
        params={"who": review.subject.public_name, "listing": review.exchange.listing.title},
        url=review.exchange.get_absolute_url(), exchange=review.exchange,
    )
