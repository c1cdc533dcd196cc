"""Property-based tests of review_submit with arbitrary ratings and texts: either a
ReviewError and nothing saved, or a review rated 1 to 5 whose text is stored trimmed
and at most 2,000 characters.

Each hypothesis example runs inside its own transaction.atomic() that is rolled back,
so every example reviews the same completed loan (function-scoped fixtures on purpose,
hence the suppressed health check)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reviews.models import MAX_RATING, MAX_TEXT, MIN_RATING, Review
from reviews.services import ReviewError, review_edit, review_submit

pytestmark = pytest.mark.django_db

with_db = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

ratings = st.one_of(
    st.integers(min_value=-2, max_value=8), st.integers(),
    st.sampled_from([None, True, False, "3", " 4 ", "03", "5.0", "", "five", 3.0, 4.5,
                     float("nan"), Decimal("2"), Decimal("NaN"), [3], "9" * 5000]),
)
# Any character but NUL, which PostgreSQL cannot store in text (the review form refuses it).
characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
whitespace = st.text(alphabet=" \t\r\n\u00a0\u2002\u3000\u2028\x0b\x0c", max_size=20)
texts = st.one_of(
    st.text(characters, max_size=60),
    whitespace,
    # Around the limit, with trimmable whitespace on both sides.
    st.builds(lambda left, n, right: left + "é" * n + right,
              whitespace, st.integers(MAX_TEXT - 3, MAX_TEXT + 3), whitespace),
    st.builds(lambda a, b: f"{a}<script>alert('{b}')</script><b>{b}</b>",
              st.text(characters, max_size=20), st.text(characters, max_size=20)),
    st.sampled_from([None, 42, b"bytes", ["list"]]),
)


def rating_is_valid(rating) -> bool | None:
    """True or False for a plain int; None (not predicted) for other types."""
    if isinstance(rating, bool) or not isinstance(rating, int):
        return None
    return MIN_RATING <= rating <= MAX_RATING


def text_is_valid(text) -> bool:
    """Stars alone are a review: no text (None or blanks) is valid."""
    return text is None or (isinstance(text, str) and len(text.strip()) <= MAX_TEXT)


@with_db
@given(rating=ratings, text=texts)
@example(rating=3, text=" " * 10)
@example(rating=3, text="x" * MAX_TEXT + "\n")
@example(rating=3, text="x" * (MAX_TEXT + 1))
@example(rating=0, text="Fine.")
@example(rating=6, text="Fine.")
@example(rating=-(2**63), text="Fine.")
def test_any_rating_and_text_is_refused_with_nothing_saved_or_stored_within_the_rules(
    loan, other_member, rating, text
):
    with transaction.atomic():
        try:
            review = review_submit(exchange=loan, author=other_member, rating=rating, text=text)
        except ReviewError as error:
            assert not Review.objects.exists()
            assert rating_is_valid(rating) is not True or not text_is_valid(text), error.messages
            assert set(error.message_dict) <= {"rating", "text"}
        else:
            assert rating_is_valid(rating) in (True, None) and text_is_valid(text)
            review.refresh_from_db()
            assert MIN_RATING <= review.rating <= MAX_RATING
            if rating_is_valid(rating):
                assert review.rating == rating
            assert review.text == (text or "").strip()
            assert len(review.text) <= MAX_TEXT
            assert Review.objects.count() == 1
        transaction.set_rollback(True)


@with_db
@given(rating=ratings, text=texts)
@example(rating=6, text="Fine.")
@example(rating=5, text="\n" + "x" * MAX_TEXT)
@example(rating=2, text="x" * (MAX_TEXT + 1))
def test_an_edit_with_any_rating_and_text_is_refused_and_changes_nothing_or_stored_within_the_rules(
    loan, other_member, rating, text
):
    review = Review.objects.filter(exchange=loan, author=other_member).first() or review_submit(
        exchange=loan, author=other_member, rating=4, text="Good drill."
    )
    with transaction.atomic():
        try:
            edited = review_edit(review=review, by=other_member, rating=rating, text=text)
        except ReviewError:
            assert rating_is_valid(rating) is not True or not text_is_valid(text)
            review.refresh_from_db()
            assert (review.rating, review.text) == (4, "Good drill.")
        else:
            edited.refresh_from_db()
            assert MIN_RATING <= edited.rating <= MAX_RATING
            assert edited.text == (text or "").strip() and len(edited.text) <= MAX_TEXT
        transaction.set_rollback(True)


@pytest.mark.parametrize("rating", [float("inf"), Decimal("-Infinity"), 10**5000],
                         ids=["inf", "-Infinity", "10**5000"])
def test_an_infinite_or_enormous_rating_is_a_review_error(loan, other_member, rating):
    with pytest.raises(ReviewError):
        review_submit(exchange=loan, author=other_member, rating=rating, text="Fine.")
    assert not Review.objects.exists()
