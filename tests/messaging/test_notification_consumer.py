"""/ws/notifications/: who may connect, counts on connect, live notifications on every
device in the reader's language, counts after reading, heartbeats, presence, bad frames."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone

from messaging import presence, services
from messaging.models import Notification, SocketPresence
from tests.factories import MemberFactory
from tests.messaging.live_support import (
    communicator,
    receive_type,
    send_json,
    send_text,
    session_cookie,
    signed_in_client,
)

pytestmark = pytest.mark.django_db(transaction=True)

WS = "/ws/notifications/"


def _notify(member, key: str = "k1", kind: str = "exchange_requested"):
    notification, _ = services.notification_create(
        member=member, kind=kind, dedupe_key=key, url="/listings/",
        params={"who": "Bob", "listing": "Cordless drill"},
    )
    return notification


def run(scenario):
    async_to_sync(scenario)()


def test_anonymous_visitors_are_refused():
    async def scenario():
        comm = communicator(WS)
        connected, code = await comm.connect()
        assert not connected
        assert code == 4003

    run(scenario)


def test_a_foreign_origin_is_refused():
    member = MemberFactory()
    key = session_cookie(signed_in_client(member))

    async def scenario():
        comm = communicator(WS, session_key=key, origin="https://evil.example")
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_an_inactive_member_is_refused():
    member = MemberFactory()
    key = session_cookie(signed_in_client(member))
    member.is_active = False
    member.save(update_fields=["is_active"])

    async def scenario():
        comm = communicator(WS, session_key=key)
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_connect_sends_the_current_counts_and_records_presence():
    member = MemberFactory()
    _notify(member, "a")
    _notify(member, "b")
    key = session_cookie(signed_in_client(member))

    async def scenario():
        comm = communicator(WS, session_key=key)
        connected, _ = await comm.connect()
        assert connected
        frame = await comm.receive_json_from(timeout=3)
        assert frame == {"type": "counts", "notifications": 2, "messages": 0}
        online = await database_sync_to_async(presence.online_member_ids)()
        assert online == {member.pk}
        await comm.disconnect()
        assert not await database_sync_to_async(SocketPresence.objects.exists)()

    run(scenario)


def test_a_new_notification_reaches_every_device_of_the_member_only():
    alice, bob = MemberFactory(), MemberFactory()
    laptop = session_cookie(signed_in_client(alice))
    phone = session_cookie(signed_in_client(alice))
    bobs = session_cookie(signed_in_client(bob))

    async def scenario():
        sockets = [communicator(WS, session_key=key) for key in (laptop, phone, bobs)]
        for comm in sockets:
            assert (await comm.connect())[0]
            await receive_type(comm, "counts")
        notification = await database_sync_to_async(_notify)(alice)
        for comm in sockets[:2]:
            frame = await receive_type(comm, "notification")
            assert frame["id"] == notification.pk
            assert frame["text"] == "Bob asks for “Cordless drill”."
            assert frame["url"] == "/listings/"
            assert frame["needs_action"] is True
            assert "texts" not in frame
            counts = await receive_type(comm, "counts")
            assert counts["notifications"] == 1
        assert await sockets[2].receive_nothing(timeout=0.3)
        for comm in sockets:
            await comm.disconnect()

    run(scenario)


def test_a_replayed_cause_pushes_nothing_new():
    alice = MemberFactory()
    key = session_cookie(signed_in_client(alice))
    _notify(alice, "same")

    async def scenario():
        comm = communicator(WS, session_key=key)
        assert (await comm.connect())[0]
        await receive_type(comm, "counts")
        await database_sync_to_async(_notify)(alice, "same")
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run(scenario)


def test_each_socket_gets_the_text_in_its_browsers_language():
    alice = MemberFactory()
    key = session_cookie(signed_in_client(alice))

    async def scenario():
        french_cookie = communicator(WS, session_key=key, language="fr")
        french_header = communicator(WS, session_key=key, accept_language="fr-CH,fr;q=0.9")
        english = communicator(WS, session_key=key, accept_language="de-DE,de;q=0.9")
        for comm in (french_cookie, french_header, english):
            assert (await comm.connect())[0]
            await receive_type(comm, "counts")
        await database_sync_to_async(_notify)(alice)
        for comm in (french_cookie, french_header):
            frame = await receive_type(comm, "notification")
            assert frame["text"] == "Bob demande « Cordless drill »."
        assert (await receive_type(english, "notification"))["text"] == (
            "Bob asks for “Cordless drill”."
        )
        for comm in (french_cookie, french_header, english):
            await comm.disconnect()

    run(scenario)


def test_html_in_a_title_travels_as_plain_text():
    alice = MemberFactory()
    key = session_cookie(signed_in_client(alice))

    def create():
        services.notification_create(
            member=alice, kind="exchange_requested", dedupe_key="xss", url="//evil.example/",
            params={"who": "<img src=x onerror=alert(1)>", "listing": "<b>drill</b>"},
        )

    async def scenario():
        comm = communicator(WS, session_key=key)
        assert (await comm.connect())[0]
        await receive_type(comm, "counts")
        await database_sync_to_async(create)()
        frame = await receive_type(comm, "notification")
        # JSON carries the characters; the client sets textContent, never innerHTML.
        assert "<img src=x onerror=alert(1)>" in frame["text"]
        # A stored URL that leaves the site is replaced by the notifications page.
        assert frame["url"] == reverse("notifications:list")
        await comm.disconnect()

    run(scenario)


def test_reading_on_one_device_updates_the_count_on_the_others():
    alice = MemberFactory()
    client = signed_in_client(alice)
    other_device = session_cookie(signed_in_client(alice))
    first = _notify(alice, "a")
    _notify(alice, "b")

    async def scenario():
        comm = communicator(WS, session_key=other_device)
        assert (await comm.connect())[0]
        assert (await receive_type(comm, "counts"))["notifications"] == 2
        await database_sync_to_async(client.post)(reverse("notifications:open", args=[first.pk]))
        assert (await receive_type(comm, "counts"))["notifications"] == 1
        await database_sync_to_async(client.post)(reverse("notifications:read-all"))
        assert (await receive_type(comm, "counts"))["notifications"] == 0
        # Reading again changes nothing and pushes nothing.
        await database_sync_to_async(client.post)(reverse("notifications:read-all"))
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    run(scenario)


def test_heartbeats_answer_and_keep_the_presence_fresh(monkeypatch):
    alice = MemberFactory()
    key = session_cookie(signed_in_client(alice))
    monkeypatch.setattr(presence, "REFRESH_EVERY", timedelta(0))

    async def scenario():
        comm = communicator(WS, session_key=key)
        assert (await comm.connect())[0]
        await receive_type(comm, "counts")
        old = timezone.now() - timedelta(minutes=10)
        await database_sync_to_async(SocketPresence.objects.update)(last_seen=old)
        assert await database_sync_to_async(presence.online_member_ids)() == set()
        await send_json(comm, {"type": "heartbeat"})
        assert (await comm.receive_json_from(timeout=3)) == {"type": "heartbeat"}
        assert await database_sync_to_async(presence.online_member_ids)() == {alice.pk}
        await comm.disconnect()

    run(scenario)


def test_a_stale_presence_row_counts_for_nothing_and_is_pruned():
    alice = MemberFactory()
    SocketPresence.objects.create(member=alice, channel_name="dead-worker!abc",
                                  last_seen=timezone.now() - timedelta(minutes=4))
    assert presence.online_member_ids() == set()
    assert presence.presence_prune() == 1


@pytest.mark.parametrize("text, code", [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_frame"),
    ('{"type": "shout"}', "unknown_type"),
    ('{"type": "heartbeat", "pad": "' + "x" * 20_000 + '"}', "too_large"),
])
def test_bad_frames_get_an_error_and_the_socket_stays_open(text, code):
    alice = MemberFactory()
    key = session_cookie(signed_in_client(alice))

    async def scenario():
        comm = communicator(WS, session_key=key)
        assert (await comm.connect())[0]
        await receive_type(comm, "counts")
        await send_text(comm, text)
        frame = await comm.receive_json_from(timeout=3)
        assert frame["type"] == "error"
        assert frame["code"] == code
        await send_json(comm, {"type": "heartbeat"})
        assert (await comm.receive_json_from(timeout=3))["type"] == "heartbeat"
        await comm.disconnect()

    run(scenario)


def test_unread_count_matches_the_database():
    alice = MemberFactory()
    _notify(alice, "x")
    Notification.objects.update(read_at=timezone.now())
    key = session_cookie(signed_in_client(alice))

    async def scenario():
        comm = communicator(WS, session_key=key)
        assert (await comm.connect())[0]
        assert (await receive_type(comm, "counts"))["notifications"] == 0
        await comm.disconnect()

    run(scenario)


def test_every_page_of_both_members_hears_that_the_conversation_moved():
    from messaging import conversations
    from tests.factories import ListingFactory

    alice, bob = MemberFactory(display_name="Alice"), MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, title="Cordless drill")
    chat = conversations.conversation_for_listing(listing=drill, member=bob)
    alice_key = session_cookie(signed_in_client(alice))
    bob_key = session_cookie(signed_in_client(bob))
    carol_key = session_cookie(signed_in_client(MemberFactory()))

    async def scenario():
        sockets = {name: communicator(WS, session_key=key)
                   for name, key in (("alice", alice_key), ("bob", bob_key), ("carol", carol_key))}
        for socket in sockets.values():
            connected, _ = await socket.connect()
            assert connected
            await receive_type(socket, "counts")
        await database_sync_to_async(conversations.message_post)(
            conversation=chat, sender=bob, body="Still free on Saturday?")
        heard = {name: await receive_type(sockets[name], "conversation")
                 for name in ("alice", "bob")}
        # Alice's count moved too (a counts frame); Carol, not in it, hears nothing.
        carol_heard_nothing = await sockets["carol"].receive_nothing(timeout=0.3)
        for socket in sockets.values():
            await socket.disconnect()
        return heard, carol_heard_nothing

    heard, carol_heard_nothing = async_to_sync(scenario)()
    assert heard["alice"] == {"type": "conversation", "conversation": chat.pk}
    assert heard["bob"] == {"type": "conversation", "conversation": chat.pk}
    assert carol_heard_nothing
