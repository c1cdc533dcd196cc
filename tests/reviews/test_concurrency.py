"""Both parties submit at the same moment, on PostgreSQL: each sees the other's
review, whatever the order, so both are published, exactly once, and the figures
count both."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection

from exchanges.models import Exchange, State
from members.models import Member
from reviews import services
from reviews.models import Reputation, Review
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory
from tests.threads import in_own_connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="races need real row locks and concurrent writers: PostgreSQL only",
    ),
]


@pytest.mark.parametrize("round_", range(3))
def test_two_reviews_at_once_are_both_published(round_):
    def setup():
        owner, asker = MemberFactory(), MemberFactory()
        exchange = make_exchange(listing=ListingFactory(owner=owner), asker=asker,
                                 state=State.COMPLETED)
        return exchange.pk, owner.pk, asker.pk

    exchange_id, owner_id, asker_id = in_own_connection(setup)
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}

    def review(author_id: int) -> None:
        try:
            exchange = Exchange.objects.get(pk=exchange_id)
            author = Member.objects.get(pk=author_id)
            barrier.wait(timeout=10)
            results[author_id] = services.review_submit(
                exchange=exchange, author=author, rating=4, text="ok")
        except BaseException as error:  # reported by the assertions below
            results[author_id] = error
        finally:
            connection.close()

    def check() -> None:
        reviews = list(Review.objects.filter(exchange_id=exchange_id))
        assert len(reviews) == 2, results
        assert all(r.published_at is not None for r in reviews), results
        assert len({r.published_at for r in reviews}) == 1
        assert Reputation.objects.get(member_id=owner_id).count == 1
        assert Reputation.objects.get(member_id=asker_id).count == 1

    def cleanup() -> None:
        Exchange.objects.filter(pk=exchange_id).delete()  # its window, events, reviews
        Member.objects.filter(pk__in=[owner_id, asker_id]).delete()  # their listings

    try:
        threads = [threading.Thread(target=review, args=(pk,)) for pk in (owner_id, asker_id)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        in_own_connection(check)
    finally:
        in_own_connection(cleanup)
