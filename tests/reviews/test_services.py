"""The review rules, through the services: who may review, once, inside the window; the
blind rule; edits, replies, hiding; and the bad input each refuses without saving."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from exchanges.models import ExchangeKind, State
from reviews import services
from reviews.models import Review, ReviewRole, ReviewWindow
from reviews.services import ReviewError
from tests.exchanges.factories import listing_for, make_exchange
from tests.factories import MemberFactory
from tests.reviews.conftest import age

pytestmark = pytest.mark.django_db


def submit(exchange, author, rating=5, text="Great, thank you!"):
    return services.review_submit(exchange=exchange, author=author, rating=rating, text=text)


# --- who may review, when, how often ----------------------------------------------------


def test_each_party_reviews_the_other_in_the_role_they_had(loan, member, other_member):
    by_bob = submit(loan, other_member, 4, "Drill worked fine.")
    by_alice = submit(loan, member, 5, "Brought it back clean.")

    assert (by_bob.subject, by_bob.role) == (member, ReviewRole.LENDER)
    assert (by_alice.subject, by_alice.role) == (other_member, ReviewRole.BORROWER)


@pytest.mark.parametrize(("kind", "owner_role", "asker_role"), [
    (ExchangeKind.LOAN, ReviewRole.LENDER, ReviewRole.BORROWER),
    (ExchangeKind.RIDE, ReviewRole.DRIVER, ReviewRole.PASSENGER),
    (ExchangeKind.SERVICE, ReviewRole.PROVIDER, ReviewRole.RECEIVER),
    (ExchangeKind.SALE, ReviewRole.SELLER, ReviewRole.BUYER),
    (ExchangeKind.SWAP, ReviewRole.SWAP_PARTNER, ReviewRole.SWAP_PARTNER),
])
def test_roles_follow_the_kind_of_exchange(kind, owner_role, asker_role, member, other_member):
    exchange = make_exchange(listing=listing_for(kind, member), asker=other_member,
                             state=State.COMPLETED)

    of_owner = submit(exchange, other_member)
    of_asker = submit(exchange, member)

    assert (of_owner.role, of_asker.role) == (owner_role, asker_role)


def test_a_non_party_cannot_review(loan):
    stranger = MemberFactory()

    with pytest.raises(ReviewError, match="not part of this exchange"):
        submit(loan, stranger)
    assert not Review.objects.exists()


@pytest.mark.parametrize("state", [State.REQUESTED, State.ACCEPTED, State.IN_PROGRESS,
                                   State.DECLINED, State.CANCELLED, State.DISPUTED])
def test_no_review_before_completion(state, drill, member, other_member):
    exchange = make_exchange(listing=drill, asker=other_member, state=state)

    with pytest.raises(ReviewError, match="once the exchange is completed"):
        submit(exchange, other_member)
    assert not Review.objects.exists()
    assert not ReviewWindow.objects.exists()


def test_a_party_reviews_once(loan, other_member):
    submit(loan, other_member, 5, "First")

    with pytest.raises(ReviewError, match="already reviewed"):
        submit(loan, other_member, 1, "Second thoughts")
    assert list(Review.objects.values_list("text", flat=True)) == ["First"]


def test_the_database_keeps_one_review_per_author_and_exchange(loan, member, other_member):
    submit(loan, other_member)

    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(exchange=loan, author=other_member, subject=member,
                              role=ReviewRole.LENDER, rating=3, text="again")


def test_the_window_is_fourteen_days_from_completion(loan):
    window = ReviewWindow.objects.get(pk=loan.pk)
    completed = loan.events.get(action="complete").at

    assert window.completed_at == completed
    assert window.closes_at == completed + timedelta(days=14)


def test_no_review_after_the_window(loan, other_member):
    age(loan, 14)

    with pytest.raises(ReviewError, match="14 days"):
        submit(loan, other_member)
    assert not Review.objects.exists()


def test_a_review_on_the_last_day_is_accepted(loan, other_member):
    age(loan, 13.9)

    assert submit(loan, other_member).pk


def test_an_exchange_completed_without_its_window_gets_one_on_the_first_review(
    drill, member, other_member,
):
    exchange = make_exchange(listing=drill, asker=other_member, state=State.COMPLETED)

    submit(exchange, other_member)

    assert ReviewWindow.objects.get(pk=exchange.pk).closes_at > timezone.now()


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", [0, 6, -1, "", None, "five", "4.5", 4.5, True, "6"])
def test_a_rating_outside_1_to_5_is_refused(loan, other_member, rating):
    with pytest.raises(ReviewError) as refused:
        submit(loan, other_member, rating=rating)

    assert refused.value.message_dict == {"rating": ["Choose a rating from 1 to 5 stars."]}
    assert not Review.objects.exists()


@pytest.mark.parametrize("text", ["", "   \n ", None])
def test_no_text_is_a_review_of_stars_alone(loan, other_member, text):
    assert submit(loan, other_member, text=text).text == ""


@pytest.mark.parametrize("text", [42, b"bytes", ["list"]])
def test_a_text_that_is_not_text_is_refused(loan, other_member, text):
    with pytest.raises(ReviewError) as refused:
        submit(loan, other_member, text=text)

    assert "Write it as text." in refused.value.message_dict["text"][0]
    assert not Review.objects.exists()


def test_an_over_long_text_is_refused_and_2000_characters_pass(loan, member, other_member):
    with pytest.raises(ReviewError) as refused:
        submit(loan, other_member, text="x" * 2001)
    assert "2000 characters (it has 2001)" in refused.value.message_dict["text"][0]
    assert not Review.objects.exists()

    assert len(submit(loan, other_member, text="y" * 2000).text) == 2000


def test_both_errors_are_reported_at_once(loan, other_member):
    with pytest.raises(ReviewError) as refused:
        submit(loan, other_member, rating=9, text="x" * 2001)

    assert set(refused.value.message_dict) == {"rating", "text"}


def test_stars_alone_are_a_review(loan, other_member):
    review = submit(loan, other_member, rating=4, text="   ")

    assert (review.rating, review.text) == (4, "")


def test_the_text_is_stored_as_typed_without_surrounding_space(loan, other_member):
    review = submit(loan, other_member, text="  <b>Nice</b> & tidy \n")

    assert review.text == "<b>Nice</b> & tidy"


# --- the blind rule ----------------------------------------------------------------------------


def test_a_lone_review_is_its_authors_alone(loan, member, other_member):
    review = submit(loan, other_member)

    assert review.published_at is None
    assert list(Review.objects.visible_to(other_member)) == [review]
    assert not Review.objects.visible_to(member).exists()
    assert not Review.objects.public().exists()


def test_the_second_review_publishes_both_at_the_same_moment(loan, member, other_member):
    first = submit(loan, other_member)
    second = submit(loan, member)

    first.refresh_from_db()
    assert first.published_at is not None
    assert first.published_at == second.published_at
    assert set(Review.objects.visible_to(member)) == {first, second}
    assert set(Review.objects.public()) == {first, second}
    assert ReviewWindow.objects.get(pk=loan.pk).published_at == first.published_at


def test_when_the_window_closes_a_lone_review_is_published(loan, member, other_member):
    review = submit(loan, other_member)
    age(loan, 14)

    published = services.reviews_publish_due()

    assert published == [review]
    assert Review.objects.visible_to(member).get() == review
    assert services.reviews_publish_due() == []


def test_publishing_is_not_early(loan, other_member):
    submit(loan, other_member)
    age(loan, 13)

    assert services.reviews_publish_due() == []
    assert Review.objects.get().published_at is None


def test_a_window_closing_without_reviews_is_closed_all_the_same(loan):
    age(loan, 15)

    assert services.reviews_publish_due() == []
    assert ReviewWindow.objects.get(pk=loan.pk).published_at is not None
    assert not services.windows_due_for_publication().exists()


# --- editing ---------------------------------------------------------------------------------


def test_the_author_may_change_an_unpublished_review(loan, other_member):
    review = submit(loan, other_member, 2, "Meh")

    services.review_edit(review=review, by=other_member, rating=4, text="Fine after all")

    review.refresh_from_db()
    assert (review.rating, review.text) == (4, "Fine after all")


def test_a_published_review_cannot_be_changed(loan, member, other_member):
    review = submit(loan, other_member, 2, "Meh")
    submit(loan, member)

    with pytest.raises(ReviewError, match="published review cannot be changed"):
        services.review_edit(review=review, by=other_member, rating=5, text="Great")
    review.refresh_from_db()
    assert (review.rating, review.text) == (2, "Meh")


def test_only_the_author_changes_a_review(loan, member, other_member):
    review = submit(loan, other_member, 2, "Meh")

    with pytest.raises(ReviewError, match="Only its author"):
        services.review_edit(review=review, by=member, rating=5, text="Great")


def test_an_edit_with_bad_input_changes_nothing(loan, other_member):
    review = submit(loan, other_member, 2, "Meh")

    with pytest.raises(ReviewError):
        services.review_edit(review=review, by=other_member, rating=0, text="")
    review.refresh_from_db()
    assert (review.rating, review.text) == (2, "Meh")


# --- replies -----------------------------------------------------------------------------------


@pytest.fixture
def published(loan, member, other_member):
    """Bob's review of Alice and hers of him, both published."""
    of_alice = submit(loan, other_member, 4, "Good drill")
    submit(loan, member, 5, "Careful borrower")
    of_alice.refresh_from_db()
    return of_alice


def test_the_reviewed_member_replies_once(published, member):
    services.review_reply(review=published, by=member, text="Thanks Bob!")

    published.refresh_from_db()
    assert published.reply == "Thanks Bob!" and published.replied_at is not None
    with pytest.raises(ReviewError, match="already replied"):
        services.review_reply(review=published, by=member, text="And again")
    published.refresh_from_db()
    assert published.reply == "Thanks Bob!"


def test_only_the_reviewed_member_replies(published, other_member):
    for someone in (other_member, MemberFactory()):
        with pytest.raises(ReviewError, match="Only the reviewed member"):
            services.review_reply(review=published, by=someone, text="Me too")
    assert Review.objects.get(pk=published.pk).reply == ""


def test_no_reply_before_publication(loan, member, other_member):
    review = submit(loan, other_member)

    with pytest.raises(ReviewError, match="once the review is published"):
        services.review_reply(review=review, by=member, text="Hm")


@pytest.mark.parametrize("text", ["", "  ", "z" * 2001])
def test_a_reply_needs_1_to_2000_characters(published, member, text):
    with pytest.raises(ReviewError) as refused:
        services.review_reply(review=published, by=member, text=text)

    assert list(refused.value.message_dict) == ["reply"]
    assert Review.objects.get(pk=published.pk).replied_at is None


# --- hiding (moderators) -------------------------------------------------------------------------


def test_a_hidden_review_leaves_every_public_page(published, member, other_member):
    services.review_remove(review=published, reason="insults")

    assert published not in Review.objects.public()
    assert published not in Review.objects.visible_to(member)
    assert published in Review.objects.visible_to(other_member)  # its author still sees it

    services.review_restore(review=published)
    assert published in Review.objects.public()


def test_no_reply_to_a_hidden_review(published, member):
    services.review_remove(review=published)

    with pytest.raises(ReviewError):
        services.review_reply(review=published, by=member, text="Thanks")
