"""Creation forms carry a one-time token: sending one twice (a double tap, the browser
resending, a replay) creates one row, and the second answer is sent to the first's result.

SQLite here; tests/core/test_once_races.py sends the same POST ten times at once on
PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from exchanges.models import BlockedPeriod, Exchange, LoanExtension, State
from listings.models import Kind, Listing, Photo, SavedSearch, Terms
from moderation.models import Report
from reviews.models import Review
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory, RideFactory, category, image_upload
from tests.listings.test_views import item_post, ride_post

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="once_token" value="([0-9a-f-]{36})"')


def service_post() -> dict:
    return {"terms": "barter", "title": "Italian lessons", "description": "One hour.",
            "category": str(category("languages").pk), "service_place": "provider",
            "duration": "1", "hours": "1", "town": "Annecy"}


def wanted_post() -> dict:
    return {"terms": "lend", "title": "A tent", "description": "For a weekend.",
            "category": str(category("power-tools").pk), "price": "", "hours": "",
            "town": "Annecy"}


def twice(client, url: str, data: dict, **extra):
    """POST the same form twice, token included, as a double tap sends it."""
    data = {**data, "once_token": str(uuid.uuid4())}
    first = client.post(url, data, **extra)
    second = client.post(url, data, **extra)
    return first, second


def assert_replayed(first, second) -> None:
    assert first.status_code == 302, first.content.decode()[:2000]
    assert second.status_code == 302
    assert second.url == first.url
    shown = [str(m) for m in get_messages(second.wsgi_request)]
    assert any("Nothing was created twice" in text for text in shown), shown


@pytest.mark.parametrize(("kind", "data"), [
    ("item", item_post), ("ride", ride_post), ("service", service_post), ("wanted", wanted_post),
])
def test_a_listing_form_sent_twice_creates_one_listing(member_client, kind, data):
    url = reverse("listings:create-kind", args=[kind])
    first, second = twice(member_client, url, data())
    assert_replayed(first, second)
    listing = Listing.objects.get()
    assert listing.kind == kind
    assert first.url == reverse("listings:photos", args=[listing.pk])


def test_the_creation_page_carries_a_fresh_token_each_time(member_client):
    url = reverse("listings:create-kind", args=["item"])
    tokens = [TOKEN.search(member_client.get(url).content.decode())[1] for _ in range(2)]
    assert tokens[0] != tokens[1]


def test_a_refused_form_keeps_its_token_usable(member_client):
    """Bad input records nothing: the corrected form, same token, still creates."""
    url = reverse("listings:create-kind", args=["item"])
    token = str(uuid.uuid4())
    refused = member_client.post(url, {**item_post(price="-4"), "once_token": token})
    from core.models import FormSubmission

    assert refused.status_code == 200 and not Listing.objects.exists()
    assert not FormSubmission.objects.exists()
    accepted = member_client.post(url, {**item_post(), "once_token": token})
    assert accepted.status_code == 302 and Listing.objects.count() == 1


def test_the_same_token_from_another_member_is_their_own(client):
    """Tokens are scoped to the member: someone else's token never replays their form."""
    url = reverse("listings:create-kind", args=["item"])
    token = str(uuid.uuid4())
    for member in MemberFactory.create_batch(2):
        client.force_login(member)
        assert client.post(url, {**item_post(), "once_token": token}).status_code == 302
    assert Listing.objects.count() == 2


def test_a_malformed_token_is_like_none(member_client):
    url = reverse("listings:create-kind", args=["item"])
    response = member_client.post(url, {**item_post(), "once_token": "not-a-uuid"})
    assert response.status_code == 302 and Listing.objects.count() == 1


def test_an_exchange_request_sent_twice_creates_one(client):
    owner, asker = MemberFactory(), MemberFactory()
    ride = RideFactory(owner=owner, seats=3, departs_at=timezone.now() + timedelta(days=2))
    client.force_login(asker)
    page = client.get(ride.get_absolute_url()).content.decode()
    assert TOKEN.search(page), "the request form carries no token"
    first, second = twice(client, reverse("exchanges:request", args=[ride.pk]), {"ask-seats": "1"})
    assert_replayed(first, second)
    exchange = Exchange.objects.get()
    assert first.url == exchange.get_absolute_url()


def test_a_review_sent_twice_creates_one(client):
    owner, asker = MemberFactory(), MemberFactory()
    drill = ListingFactory(owner=owner, terms=Terms.LEND)
    loan = make_exchange(listing=drill, asker=asker, state=State.COMPLETED,
                         start_date=timezone.localdate() - timedelta(days=3),
                         end_date=timezone.localdate() - timedelta(days=2))
    client.force_login(asker)
    url = reverse("reviews:create", args=[loan.pk])
    assert TOKEN.search(client.get(url).content.decode())
    first, second = twice(client, url, {"rating": "5", "text": "Great drill."})
    assert_replayed(first, second)
    assert Review.objects.count() == 1


def test_a_report_sent_twice_creates_one(client):
    listing = ListingFactory()
    client.force_login(MemberFactory())
    url = reverse("moderation:report", args=["listing", listing.pk])
    assert TOKEN.search(client.get(url).content.decode())
    first, second = twice(client, url, {"reason": "spam", "note": "Same text everywhere"})
    assert_replayed(first, second)
    assert Report.objects.count() == 1
    assert first.url == listing.get_absolute_url()


def test_a_saved_search_sent_twice_creates_one(member_client):
    page = member_client.get(reverse("listings:list"), {"q": "drill"}).content.decode()
    assert TOKEN.search(page)
    first, second = twice(member_client, reverse("listings:saved-create"), {"query": "q=drill"})
    assert_replayed(first, second)
    assert SavedSearch.objects.count() == 1


def test_a_photo_sent_twice_is_stored_once(member_client, member):
    listing = ListingFactory(owner=member)
    url = reverse("listings:photos", args=[listing.pk])
    assert TOKEN.search(member_client.get(url).content.decode())
    token = str(uuid.uuid4())
    # A file can be read once: each send gets its own copy of the same bytes.
    first = member_client.post(url, {"image": image_upload(), "alt_text": "x", "once_token": token})
    second = member_client.post(url, {"image": image_upload(), "alt_text": "x", "once_token": token})
    assert_replayed(first, second)
    assert Photo.objects.count() == 1


def test_blocked_days_sent_twice_are_blocked_once(member_client, member):
    drill = ListingFactory(owner=member, kind=Kind.ITEM, terms=Terms.LEND)
    start = timezone.localdate() + timedelta(days=30)
    first, second = twice(member_client, reverse("exchanges:block", args=[drill.pk]), {
        "block-start_date": start.isoformat(),
        "block-end_date": (start + timedelta(days=1)).isoformat(), "block-note": ""})
    assert_replayed(first, second)
    assert BlockedPeriod.objects.count() == 1


def test_an_extension_asked_twice_is_asked_once(client):
    owner, asker = MemberFactory(), MemberFactory()
    drill = ListingFactory(owner=owner, terms=Terms.LEND)
    loan = make_exchange(listing=drill, asker=asker, state=State.IN_PROGRESS)
    client.force_login(asker)
    assert TOKEN.search(client.get(loan.get_absolute_url()).content.decode())
    first, second = twice(client, reverse("exchanges:extension-request", args=[loan.pk]),
                          {"new_end_date": (loan.end_date + timedelta(days=2)).isoformat()})
    assert_replayed(first, second)
    assert LoanExtension.objects.count() == 1


def test_old_tokens_are_forgotten_by_the_purge_command(member_client):
    from django.core.management import call_command

    from core.models import FormSubmission

    url = reverse("listings:create-kind", args=["item"])
    for _ in range(2):
        member_client.post(url, {**item_post(), "once_token": str(uuid.uuid4())})
    old, recent = FormSubmission.objects.order_by("id")
    FormSubmission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    call_command("form_tokens_purge")
    assert list(FormSubmission.objects.values_list("pk", flat=True)) == [recent.pk]
    # Past the purge, sending the old form again creates again (a month later).
    again = member_client.post(url, {**item_post(), "once_token": str(old.token)})
    assert again.status_code == 302 and Listing.objects.count() == 3


def test_requesting_an_attached_listing_twice_requests_once(client):
    from messaging import conversations
    from messaging.models import Conversation, ConversationKind, Message

    alice, bob = MemberFactory(), MemberFactory()
    wanted = ListingFactory(owner=alice, kind=Kind.WANTED, terms=Terms.SELL)
    mower = ListingFactory(owner=bob, terms=Terms.SELL, price_cents=3000)
    conversations.wanted_answer(wanted=wanted, responder=bob, body="Mine works",
                                attached_listing=mower, client_id=uuid.uuid4())
    conversation = Conversation.objects.get(kind=ConversationKind.WANTED)
    message = Message.objects.get()
    client.force_login(alice)
    assert TOKEN.search(client.get(conversation.get_absolute_url()).content.decode())
    first, second = twice(client, reverse("conversations:request-attached",
                                          args=[conversation.pk, message.pk]), {})
    assert_replayed(first, second)
    assert Exchange.objects.get().get_absolute_url() == first.url
