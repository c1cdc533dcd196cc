"""Reputation figures: written in the transaction that publishes, hides or restores a
review, overall and per role, and equal to what the reviews add up to."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.models import ExchangeKind, State
from reviews import selectors, services
from reviews.models import Reputation, Review
from tests.exchanges.factories import listing_for, make_exchange
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def deal(owner, asker, kind=ExchangeKind.LOAN):
    return make_exchange(listing=listing_for(kind, owner), asker=asker, state=State.COMPLETED)


def both_review(exchange, *, of_owner: int, of_asker: int = 5):
    services.review_submit(exchange=exchange, author=exchange.asker, rating=of_owner, text="ok")
    services.review_submit(exchange=exchange, author=exchange.owner, rating=of_asker, text="ok")


def reputation(member) -> tuple[int, int, Decimal | None]:
    row = Reputation.objects.get(member=member)
    return row.count, row.rating_sum, row.average


def test_nothing_counts_before_publication(member, other_member):
    exchange = deal(member, other_member)
    services.review_submit(exchange=exchange, author=other_member, rating=1, text="bad")

    assert not Reputation.objects.filter(member=member, count__gt=0).exists()
    assert selectors.figures_of(member).count == 0


def test_figures_after_publication_overall_and_per_role(member, other_member):
    carol = MemberFactory(display_name="Carol")
    both_review(deal(member, other_member), of_owner=5)  # Alice lends to Bob
    both_review(deal(member, carol), of_owner=4)  # Alice lends to Carol
    both_review(deal(member, carol, ExchangeKind.RIDE), of_owner=2)  # Alice drives Carol

    assert reputation(member) == (3, 11, Decimal("3.67"))
    figures = selectors.figures_of(member)
    assert (figures.count, figures.average) == (3, Decimal("3.67"))
    assert [(r.role, r.count, r.average) for r in figures.by_role] == [
        ("lender", 2, Decimal("4.50")), ("driver", 1, Decimal("2.00")),
    ]
    assert reputation(other_member) == (1, 5, Decimal("5.00"))


def test_figures_after_removal_and_restore(member, other_member):
    carol = MemberFactory()
    both_review(deal(member, other_member), of_owner=5)
    both_review(deal(member, carol), of_owner=1)
    low = Review.objects.get(subject=member, rating=1)

    services.review_remove(review=low, reason="revenge review")
    assert reputation(member) == (1, 5, Decimal("5.00"))
    assert selectors.figures_of(member).average == Decimal("5.00")

    services.review_remove(review=low)  # twice: nothing more changes
    assert reputation(member) == (1, 5, Decimal("5.00"))

    services.review_restore(review=low)
    assert reputation(member) == (2, 6, Decimal("3.00"))


def test_removing_every_review_leaves_no_average(member, other_member):
    both_review(deal(member, other_member), of_owner=3)

    services.review_remove(review=Review.objects.get(subject=member))

    assert reputation(member) == (0, 0, None)
    assert selectors.figures_of(member).average is None


def test_a_hidden_unpublished_review_does_not_count_once_published(member, other_member, on_commit):
    exchange = deal(member, other_member)
    lone = services.review_submit(exchange=exchange, author=other_member, rating=1, text="x")
    services.review_remove(review=lone)
    from tests.reviews.conftest import age

    age(exchange, 15)
    services.reviews_publish_due()

    assert reputation(member) == (0, 0, None)


def test_the_stored_figures_match_the_reviews(member, other_member):
    for rating in (5, 3, 4, 4, 1):
        both_review(deal(member, MemberFactory()), of_owner=rating)

    stored = Reputation.objects.get(member=member)
    ratings = list(Review.objects.public().filter(subject=member).values_list("rating", flat=True))
    assert (stored.count, stored.rating_sum) == (len(ratings), sum(ratings))
    assert stored.average == Decimal("3.40")
