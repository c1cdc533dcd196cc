"""Warning, suspending and banning a member: every effect, and the refusals."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import path
from django.utils import timezone

from exchanges import services as exchange_services
from listings import services as listing_services
from listings.models import Listing, Status
from members.models import Member
from members.standing import StandingError
from messaging import conversations
from messaging.conversations import ChatError
from messaging.models import Message
from messaging.sockets import MemberSocket
from moderation import services
from moderation.models import ActionKind, ModerationAction, Warning
from tests.factories import PASSWORD, ListingFactory, category

pytestmark = pytest.mark.django_db


def logged_in(member) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_a_suspension_signs_the_member_out_everywhere_and_says_why_on_the_next_visit(act, alice, moderator, drill):
    phone, laptop = logged_in(alice), logged_in(alice)
    act(services.member_suspend, member=alice, by=moderator, days=7, reason="Rude messages")
    alice.refresh_from_db()
    assert alice.is_suspended and not alice.may_act
    assert alice.suspended_until > timezone.now() + timedelta(days=6, hours=23)
    for client in (phone, laptop):
        response = client.get("/listings/mine/")
        assert response.status_code == 403
        html = response.content.decode()
        assert "your account is suspended" in html and "Rude messages" in html
        # Signed out: the next page is an anonymous one.
        assert client.get("/listings/mine/").status_code == 302
    assert all("_auth_user_id" not in s.get_decoded() for s in Session.objects.all())


def test_a_suspended_member_cannot_log_in_and_is_told_why_and_until_when(act, alice, moderator):
    act(services.member_suspend, member=alice, by=moderator, days=3, reason="Spam")
    response = Client().post("/accounts/login/", {"login": alice.email, "password": PASSWORD})
    assert response.status_code == 403
    html = response.content.decode()
    assert "your account is suspended" in html and "Spam" in html
    assert all("_auth_user_id" not in s.get_decoded() for s in Session.objects.all())


def test_a_suspension_ends_by_itself(act, alice, moderator):
    act(services.member_suspend, member=alice, by=moderator, days=1, reason="Spam")
    alice.suspended_until = timezone.now() - timedelta(minutes=1)
    alice.save(update_fields=["suspended_until"])
    assert logged_in(alice).get("/listings/mine/").status_code == 200


def test_a_banned_member_cannot_log_in(act, alice, moderator):
    act(services.member_ban, member=alice, by=moderator, reason="Fraud")
    response = Client().post("/accounts/login/", {"login": alice.email, "password": PASSWORD})
    assert response.status_code == 403 and "closed by the moderators" in response.content.decode()


def test_a_suspended_member_cannot_post_or_ask(act, alice, bob, moderator):
    other = ListingFactory(owner=bob)
    act(services.member_suspend, member=alice, by=moderator, days=2, reason="Spam")
    alice.refresh_from_db()
    data = listing_services.ListingData(terms="give", title="Chair", description="A chair",
                                        category=category())
    with pytest.raises(StandingError):
        listing_services.listing_create(owner=alice, kind="item", data=data)
    with pytest.raises(StandingError):
        exchange_services.exchange_request(
            listing=other, asker=alice, start_date=timezone.localdate() + timedelta(days=1),
            end_date=timezone.localdate() + timedelta(days=2))
    assert Listing.objects.filter(owner=alice).count() == 0


def test_a_suspended_member_cannot_write_and_is_told_why(act, alice, bob, moderator):
    chat = conversations.conversation_for_listing(listing=ListingFactory(owner=bob), member=alice)
    stale_alice = Member.objects.get(pk=alice.pk)  # as an open socket holds her
    act(services.member_suspend, member=alice, by=moderator, days=2, reason="Spam")
    with pytest.raises(ChatError) as refused:
        conversations.message_post(conversation=chat, sender=stale_alice, body="Hi",
                                   client_id=str(uuid.uuid4()))
    assert "your account is suspended" in " ".join(refused.value.messages)
    assert not Message.objects.filter(conversation=chat).exists()


def test_suspending_pauses_the_active_listings_and_logs_it(act, alice, moderator, drill):
    closed = ListingFactory(owner=alice, status=Status.CLOSED)
    act(services.member_suspend, member=alice, by=moderator, days=2, reason="Spam")
    drill.refresh_from_db()
    closed.refresh_from_db()
    assert drill.status == Status.PAUSED and closed.status == Status.CLOSED
    row = ModerationAction.objects.get()
    assert (row.action, row.target, row.moderator, row.reason) == (
        ActionKind.MEMBER_SUSPEND, alice, moderator, "Spam")
    assert row.details["paused_listings"] == [drill.pk] and row.details["days"] == 2


@pytest.mark.parametrize("days", [0, -3, 366, "7", 2.5, True])
def test_a_suspension_of_bad_length_is_refused_and_changes_nothing(alice, moderator, drill, days):
    with pytest.raises(services.ModerationError):
        services.member_suspend(member=alice, by=moderator, days=days, reason="Spam")
    alice.refresh_from_db()
    drill.refresh_from_db()
    assert alice.may_act and drill.status == Status.ACTIVE
    assert not ModerationAction.objects.exists()


def test_a_suspension_without_reason_is_refused(alice, moderator):
    with pytest.raises(services.ModerationError):
        services.member_suspend(member=alice, by=moderator, days=3, reason="")
    alice.refresh_from_db()
    assert alice.may_act


def test_staff_and_oneself_are_not_moderated_here(moderator, plain_staff):
    for member in (moderator, plain_staff):
        with pytest.raises(services.ModerationError):
            services.member_ban(member=member, by=moderator, reason="No")


def test_reinstating_lifts_a_ban(act, alice, moderator):
    act(services.member_ban, member=alice, by=moderator, reason="Fraud")
    services.member_reinstate(member=alice, by=moderator, reason="Appeal accepted")
    alice.refresh_from_db()
    assert alice.may_act and alice.standing_reason == ""
    assert list(ModerationAction.objects.values_list("action", flat=True)) == [
        ActionKind.MEMBER_REINSTATE, ActionKind.MEMBER_BAN]


def test_a_warning_is_shown_on_every_page_until_acknowledged(act, alice, moderator, mailoutbox):
    client = logged_in(alice)
    warning = act(services.member_warn, member=alice, by=moderator, reason="Be kind in messages")
    response = client.get("/listings/mine/")
    assert response.status_code == 302 and response["Location"] == "/moderation/warning/"
    page = client.get("/moderation/warning/").content.decode()
    assert "Be kind in messages" in page and "I understand" in page
    assert len(mailoutbox) == 1
    client.post(f"/moderation/warning/{warning.pk}/understood/")
    warning.refresh_from_db()
    assert warning.acknowledged_at is not None
    assert client.get("/listings/mine/").status_code == 200
    assert ModerationAction.objects.get().action == ActionKind.MEMBER_WARN


def test_a_member_cannot_acknowledge_someone_elses_warning(act, alice, bob, moderator):
    warning = act(services.member_warn, member=alice, by=moderator, reason="Careful")
    assert logged_in(bob).post(f"/moderation/warning/{warning.pk}/understood/").status_code == 404
    assert Warning.objects.get().acknowledged_at is None


# --- Sockets -----------------------------------------------------------------------------


class EchoSocket(MemberSocket):
    """The smallest member socket: the shared base is what is tested."""


def _socket_app():
    from channels.auth import AuthMiddlewareStack

    return AuthMiddlewareStack(URLRouter([path("ws/test/", EchoSocket.as_asgi())]))


def _cookie_headers(client: Client) -> list[tuple[bytes, bytes]]:
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    return [(b"cookie", cookie.encode()), (b"origin", b"http://testserver")]


@pytest.mark.django_db(transaction=True)
def test_a_suspended_members_open_socket_closes_and_cannot_reopen(alice, moderator):
    client = logged_in(alice)
    async_to_sync(_suspend_while_connected)(client, alice, moderator)


async def _suspend_while_connected(client, alice, moderator):
    communicator = WebsocketCommunicator(_socket_app(), "/ws/test/",
                                         headers=_cookie_headers(client))
    connected, _code = await communicator.connect()
    assert connected
    await sync_to_async(services.member_suspend)(member=alice, by=moderator, days=1,
                                                 reason="Harassment")
    closed = await communicator.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4001}
    await communicator.wait()

    again = WebsocketCommunicator(_socket_app(), "/ws/test/", headers=_cookie_headers(client))
    connected, code = await again.connect()
    assert not connected
    await again.wait()
