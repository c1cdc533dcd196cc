"""A notification that asks for something is settled once it is done (or can no longer
be): read, no longer "action needed", and every device of the member hears the new
counts. Opening the deal reads what told the member about it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exchanges import services as es
from messaging.models import Notification
from reviews import services as reviews
from tests.factories import MemberFactory, ServiceFactory


def _the(member, kind: str) -> Notification:
    return Notification.objects.get(member=member, kind=kind)


def _settled(notification: Notification) -> bool:
    notification.refresh_from_db()
    return notification.read_at is not None and notification.settled_at is not None


def test_answering_a_request_settles_the_owners_notification(act, loan_request, alice):
    asks = _the(alice, "exchange_requested")
    assert asks.awaits_action

    act(es.exchange_accept, exchange=loan_request, by=alice)

    assert _settled(asks)
    assert not asks.awaits_action


@pytest.mark.parametrize("move", ["decline", "cancel", "expire"])
def test_a_request_that_ends_unanswered_settles_it_too(act, loan_request, alice, bob, move):
    asks = _the(alice, "exchange_requested")
    if move == "decline":
        act(es.exchange_decline, exchange=loan_request, by=alice)
    elif move == "cancel":
        act(es.exchange_cancel, exchange=loan_request, by=bob)
    else:
        act(es.exchange_expire, exchange=loan_request)
    assert _settled(asks)


def test_the_notification_a_move_makes_is_not_settled_by_that_move(act, loan_request, alice, bob):
    act(es.exchange_accept, exchange=loan_request, by=alice)
    accepted = _the(bob, "exchange_accepted")
    assert accepted.awaits_action and accepted.is_unread

    # The hand-over is what "arrange the hand-over" asked for.
    act(es.exchange_start, exchange=loan_request, by=alice)
    assert _settled(accepted)
    # The hand-over's own notice is new and unread.
    assert _the(bob, "exchange_started").is_unread


def test_completing_settles_everything_still_asked(act, loan_request, alice, bob):
    act(es.exchange_accept, exchange=loan_request, by=alice)
    act(es.exchange_start, exchange=loan_request, by=alice)
    act(es.exchange_complete, exchange=loan_request, by=alice)
    assert not Notification.objects.filter(
        exchange=loan_request, needs_action=True, settled_at__isnull=True
    ).exclude(kind__startswith="review_").exists()


def test_writing_the_review_settles_the_invitation_and_only_the_authors(act, loan_request, alice, bob):
    act(es.exchange_accept, exchange=loan_request, by=alice)
    act(es.exchange_start, exchange=loan_request, by=alice)
    act(es.exchange_complete, exchange=loan_request, by=alice)
    bob_invite, alice_invite = _the(bob, "review_invited"), _the(alice, "review_invited")
    assert bob_invite.awaits_action and bob_invite.is_unread

    act(reviews.review_submit, exchange=loan_request, author=bob, rating=5, text="Great drill.")

    assert _settled(bob_invite)
    alice_invite.refresh_from_db()
    assert alice_invite.awaits_action and alice_invite.is_unread


def test_a_corrected_time_settles_the_time_to_confirm_it_replaces(act, db):
    provider, receiver = MemberFactory(display_name="Ann"), MemberFactory(display_name="Ben")
    garden = ServiceFactory(owner=provider, title="Garden help", hours_minutes=60)
    trade = act(es.exchange_request, listing=garden, asker=receiver)
    act(es.exchange_accept, exchange=trade, by=provider)
    act(es.exchange_start, exchange=trade, by=provider)
    act(es.exchange_record_time, exchange=trade, by=provider, minutes=90)
    first = _the(receiver, "service_time_recorded")

    act(es.exchange_record_time, exchange=trade, by=provider, minutes=60)

    assert _settled(first)
    newest = Notification.objects.filter(member=receiver, kind="service_time_recorded").latest("id")
    assert newest.pk != first.pk and newest.awaits_action


def test_settling_pushes_the_new_counts_to_every_device(act, loan_request, alice, monkeypatch):
    pushed = []
    monkeypatch.setattr("messaging.services.push_counts", pushed.append)
    act(es.exchange_accept, exchange=loan_request, by=alice)
    assert alice.pk in pushed


def test_opening_the_exchange_reads_its_notifications(client, loan_request, alice, bob):
    asks = _the(alice, "exchange_requested")
    other = ServiceFactory(owner=alice)
    unrelated = Notification.objects.create(member=alice, kind="exchange_requested",
                                            dedupe_key="other", exchange=None, url=other.get_absolute_url())
    client.force_login(alice)

    response = client.get(reverse("exchanges:detail", args=[loan_request.pk]))

    assert response.status_code == 200
    asks.refresh_from_db()
    unrelated.refresh_from_db()
    assert not asks.is_unread
    assert unrelated.is_unread
    # Read is not done: until she answers, it still asks for her answer.
    assert asks.awaits_action


def test_a_stranger_opening_it_reads_nothing(client, loan_request, alice):
    asks = _the(alice, "exchange_requested")
    client.force_login(MemberFactory())
    assert client.get(reverse("exchanges:detail", args=[loan_request.pk])).status_code == 404
    asks.refresh_from_db()
    assert asks.is_unread


def test_the_list_no_longer_says_action_needed_once_settled(act, client, loan_request, alice):
    client.force_login(alice)
    assert "Action needed" in client.get(reverse("notifications:list")).content.decode()
    act(es.exchange_accept, exchange=loan_request, by=alice)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "Action needed" not in page


def test_the_list_answers_htmx_with_its_rows(client, loan_request, alice):
    client.force_login(alice)
    response = client.get(reverse("notifications:list"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "Bob asks for" in body
    assert "<html" not in body


def test_a_closed_review_window_settles_the_invitations_nobody_answered(act, loan_request, alice, bob):
    from datetime import timedelta

    from django.utils import timezone

    act(es.exchange_accept, exchange=loan_request, by=alice)
    act(es.exchange_start, exchange=loan_request, by=alice)
    act(es.exchange_complete, exchange=loan_request, by=alice)
    invites = list(Notification.objects.filter(exchange=loan_request, kind="review_invited"))
    assert len(invites) == 2

    act(reviews.reviews_publish_due, now=timezone.now() + timedelta(days=15))

    assert all(_settled(invite) for invite in invites)
