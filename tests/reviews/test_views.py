"""The review pages and panels: who reaches them, what each party sees when, escaping,
and bad input shown next to the fields with nothing saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import ConsentRecord
from members.services import member_set_consent
from reviews import services
from reviews.models import Review
from tests.factories import MemberFactory
from tests.reviews.conftest import age

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><b>bold</b>'


def create_url(exchange) -> str:
    return reverse("reviews:create", args=[exchange.pk])


def post_review(client, exchange, rating="5", text="Lovely drill"):
    return client.post(create_url(exchange), {"rating": rating, "text": text})


@pytest.fixture
def bob_client(client, other_member):
    client.force_login(other_member)
    return client


# --- who may -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client, loan):
    response = client.get(create_url(loan))

    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_non_party_gets_404_on_every_review_page(client, loan, member, other_member):
    review = services.review_submit(exchange=loan, author=other_member, rating=4, text="ok")
    services.review_submit(exchange=loan, author=member, rating=4, text="ok")
    client.force_login(MemberFactory())

    for url in (create_url(loan), reverse("reviews:edit", args=[review.pk]),
                reverse("reviews:reply", args=[review.pk])):
        assert client.get(url).status_code == 404
    assert post_review(client, loan).status_code == 404
    assert Review.objects.count() == 2


def test_only_the_author_reaches_the_edit_page_and_only_the_subject_the_reply_page(
    client, loan, member, other_member,
):
    review = services.review_submit(exchange=loan, author=other_member, rating=4, text="ok")
    client.force_login(member)
    assert client.get(reverse("reviews:edit", args=[review.pk])).status_code == 404
    # Not published yet: there is nothing to reply to.
    assert client.get(reverse("reviews:reply", args=[review.pk])).status_code == 404

    client.force_login(other_member)
    assert client.get(reverse("reviews:edit", args=[review.pk])).status_code == 200
    assert client.get(reverse("reviews:reply", args=[review.pk])).status_code == 404


# --- writing from the exchange page ---------------------------------------------------------


def test_the_exchange_page_offers_the_review_form_once_completed(bob_client, loan):
    body = bob_client.get(loan.get_absolute_url()).content.decode()

    assert 'id="reviews"' in body
    assert "How did it go with Alice? You have 14 days left to review them." in body
    assert f'action="{create_url(loan)}"' in body
    assert "Publish my review of Alice" in body


def test_no_review_panel_before_completion(bob_client, drill, other_member):
    from exchanges.models import State
    from tests.exchanges.factories import make_exchange

    exchange = make_exchange(listing=drill, asker=other_member, state=State.IN_PROGRESS)
    body = bob_client.get(exchange.get_absolute_url()).content.decode()

    assert 'id="reviews"' not in body
    response = post_review(bob_client, exchange)
    assert "You can review once the exchange is completed." in response.content.decode()
    assert not Review.objects.exists()


def test_blind_until_both_are_in_then_both_appear(client, loan, member, other_member):
    client.force_login(other_member)
    response = post_review(client, loan, "4", "Bob says the drill was great")
    assert response.status_code == 302 and response.url.endswith("#reviews")

    bob_page = client.get(loan.get_absolute_url()).content.decode()
    assert "Bob says the drill was great" in bob_page
    assert "Hidden until published" in bob_page

    client.force_login(member)
    alice_page = client.get(loan.get_absolute_url()).content.decode()
    assert "Bob says the drill was great" not in alice_page
    profile = client.get(reverse("members:profile", args=[member.pk])).content.decode()
    assert "Bob says the drill was great" not in profile

    post_review(client, loan, "5", "Alice says Bob was careful")
    alice_page = client.get(loan.get_absolute_url()).content.decode()
    assert "Bob says the drill was great" in alice_page
    assert "Alice says Bob was careful" in alice_page
    assert "Hidden until published" not in alice_page
    assert "Publish my reply" in alice_page

    client.force_login(other_member)
    bob_page = client.get(loan.get_absolute_url()).content.decode()
    assert "Alice says Bob was careful" in bob_page
    assert "Hidden until published" not in bob_page


def test_a_lone_review_appears_when_the_window_closes(client, loan, member, other_member):
    services.review_submit(exchange=loan, author=other_member, rating=3, text="Bob alone")
    client.force_login(member)
    assert "Bob alone" not in client.get(loan.get_absolute_url()).content.decode()

    age(loan, 14)
    services.reviews_publish_due()

    body = client.get(loan.get_absolute_url()).content.decode()
    assert "Bob alone" in body
    assert "The 14 days to review this exchange are over." in body


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"rating": "7", "text": "ok"}, "rating", "Choose a rating from 1 to 5 stars."),
    ({"rating": "0", "text": "ok"}, "rating", "Choose a rating from 1 to 5 stars."),
    ({"text": "ok"}, "rating", "Choose a rating from 1 to 5 stars."),
    ({"rating": "4", "text": "x" * 2001}, "text", "Keep it to 2000 characters (it has 2001)."),
])
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(bob_client, loan, data, field, message):
    response = bob_client.post(create_url(loan), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    assert not Review.objects.exists()


def test_stars_without_text_make_a_review(bob_client, loan):
    response = bob_client.post(create_url(loan), {"rating": "5", "text": ""})

    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.rating, review.text) == (5, "")
    assert 'class="review-text"' not in bob_client.get(loan.get_absolute_url()).content.decode()


def test_a_second_review_is_refused_with_a_message(bob_client, loan):
    post_review(bob_client, loan, "5", "First")

    response = post_review(bob_client, loan, "1", "Second")

    assert "You have already reviewed this exchange." in response.content.decode()
    assert list(Review.objects.values_list("text", flat=True)) == ["First"]
    page = bob_client.get(create_url(loan)).content.decode()
    assert "You have already reviewed this exchange." in page
    assert "<textarea" not in page


def test_a_review_after_the_window_is_refused(bob_client, loan):
    age(loan, 15)

    response = post_review(bob_client, loan)

    assert "The 14 days to review this exchange are over." in response.content.decode()
    assert not Review.objects.exists()


# --- edit and reply pages --------------------------------------------------------------------


def test_the_author_changes_the_review_before_publication(bob_client, loan, other_member):
    review = services.review_submit(exchange=loan, author=other_member, rating=2, text="Meh")
    url = reverse("reviews:edit", args=[review.pk])

    assert 'value="2" id="id_rating_3" required checked' in bob_client.get(url).content.decode()
    response = bob_client.post(url, {"rating": "4", "text": "Better than I said"})

    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.rating, review.text) == (4, "Better than I said")


def test_a_published_review_cannot_be_changed_from_its_page(bob_client, loan, member, other_member):
    review = services.review_submit(exchange=loan, author=other_member, rating=2, text="Meh")
    services.review_submit(exchange=loan, author=member, rating=5, text="ok")
    url = reverse("reviews:edit", args=[review.pk])

    assert "A published review cannot be changed." in bob_client.get(url).content.decode()
    response = bob_client.post(url, {"rating": "5", "text": "Great"})
    assert "A published review cannot be changed." in response.content.decode()
    review.refresh_from_db()
    assert (review.rating, review.text) == (2, "Meh")


def test_the_subject_replies_once_from_the_exchange_page(client, loan, member, other_member):
    review = services.review_submit(exchange=loan, author=other_member, rating=4, text="ok")
    services.review_submit(exchange=loan, author=member, rating=5, text="ok")
    client.force_login(member)
    url = reverse("reviews:reply", args=[review.pk])

    empty = client.post(url, {"reply": "  "})
    assert "Write a few words" in empty.content.decode()
    assert client.post(url, {"reply": "Thanks, Bob"}).status_code == 302
    again = client.post(url, {"reply": "Thanks again"})

    assert "You have already replied to this review." in again.content.decode()
    assert Review.objects.get(pk=review.pk).reply == "Thanks, Bob"
    assert "Publish my reply" not in client.get(loan.get_absolute_url()).content.decode()


# --- escaping and public pages ---------------------------------------------------------------


def test_html_in_reviews_and_replies_is_escaped_everywhere(client, loan, member, other_member):
    review = services.review_submit(exchange=loan, author=other_member, rating=4, text=XSS)
    services.review_submit(exchange=loan, author=member, rating=5, text="fine")
    services.review_reply(review=review, by=member, text=XSS)

    client.force_login(member)
    pages = [
        client.get(loan.get_absolute_url()),
        client.get(reverse("members:profile", args=[member.pk])),
        client.get(reverse("reviews:member", args=[member.pk])),
    ]
    for response in pages:
        body = response.content.decode()
        assert "<script>alert" not in body and "<b>bold</b>" not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in body


def test_the_profile_shows_averages_count_and_latest_reviews(client, loan, member, other_member):
    client.force_login(other_member)
    services.review_submit(exchange=loan, author=other_member, rating=4, text="Solid drill")
    services.review_submit(exchange=loan, author=member, rating=5, text="ok")

    body = client.get(reverse("members:profile", args=[member.pk])).content.decode()

    assert "4.0 out of 5" in body
    assert "1 review" in body
    assert "As lender" in body
    assert "Solid drill" in body
    assert "Bob" in body and "reviewed Alice as lender" in body


def test_a_profile_without_reviews_says_so(client, member):
    member_set_consent(member=member, kind=ConsentRecord.Kind.PUBLIC_PROFILE, granted=True)
    body = client.get(reverse("members:profile", args=[member.pk])).content.decode()

    assert "Alice has no reviews yet." in body


def test_the_member_reviews_page_lists_public_reviews_only(client, loan, member, other_member):
    client.force_login(other_member)
    hidden = services.review_submit(exchange=loan, author=other_member, rating=1, text="Rude words")
    services.review_submit(exchange=loan, author=member, rating=5, text="ok")
    services.review_remove(review=hidden)

    body = client.get(reverse("reviews:member", args=[member.pk])).content.decode()

    assert "Rude words" not in body
    assert "Alice has no reviews yet." in body
    assert client.get(reverse("reviews:member", args=[999999])).status_code == 404


def test_the_listing_page_shows_the_owners_rating(client, loan, drill, member, other_member):
    services.review_submit(exchange=loan, author=other_member, rating=4, text="ok")
    services.review_submit(exchange=loan, author=member, rating=5, text="ok")

    body = client.get(drill.get_absolute_url()).content.decode()

    assert "Rated 4.0 out of 5 from 1 review" in body
    assert reverse("reviews:member", args=[member.pk]) in body
