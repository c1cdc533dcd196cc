"""The chat socket, /ws/conversations/<id>/, through the real ASGI application: origin
check, session cookie, routing, consumer, services and the channel layer."""

from __future__ import annotations

import json
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import cache

from members.models import Member
from messaging import conversations, live
from messaging.models import Block, Message, Participant
from messaging.sockets import MAX_FRAME_BYTES
from tests.factories import ListingFactory, MemberFactory
from tests.messaging.live_support import (
    communicator,
    receive_type,
    send_json,
    send_text,
    session_cookie,
    signed_in_client,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pair():
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    listing = ListingFactory(owner=alice, title="Cordless drill")
    conversation = conversations.conversation_for_listing(listing=listing, member=bob)
    return alice, bob, conversation


def path_of(conversation) -> str:
    return f"/ws/conversations/{conversation.pk}/"


def key_of(member) -> str:
    return session_cookie(signed_in_client(member))


async def connected(conversation, member):
    comm = communicator(path_of(conversation), session_key=await sync_to_async(key_of)(member))
    ok, code = await comm.connect()
    assert ok, f"refused with {code}"
    return comm


async def refused_code(conversation, session_key: str | None, origin: str = "http://localhost"):
    comm = communicator(path_of(conversation), session_key=session_key, origin=origin)
    ok, code = await comm.connect()
    await comm.disconnect()
    assert not ok
    return code


def run(coroutine_function, *args, **kwargs):
    return async_to_sync(coroutine_function)(*args, **kwargs)


# --- Who may connect -------------------------------------------------------------------


def test_anonymous_visitors_are_refused(pair):
    _, _, conversation = pair
    assert run(refused_code, conversation, None) == 4003


def test_a_foreign_origin_is_refused(pair):
    alice, _, conversation = pair
    key = key_of(alice)
    run(refused_code, conversation, key, origin="http://evil.example")


def test_members_who_are_not_in_it_are_refused(pair):
    _, _, conversation = pair
    carol = MemberFactory(display_name="Carol")
    assert run(refused_code, conversation, key_of(carol)) == 4003


def test_an_unknown_conversation_is_refused(pair):
    alice, _, conversation = pair
    key = key_of(alice)
    conversation.pk = 999_999
    assert run(refused_code, conversation, key) == 4003


def test_a_member_the_other_blocked_is_refused_but_the_blocker_connects(pair):
    alice, bob, conversation = pair
    Block.objects.create(blocker=alice, blocked=bob)
    assert run(refused_code, conversation, key_of(bob)) == 4003

    async def scenario():
        comm = await connected(conversation, alice)
        await comm.disconnect()

    run(scenario)


def test_inactive_members_are_refused(pair):
    alice, _, conversation = pair
    key = key_of(alice)
    Member.objects.filter(pk=alice.pk).update(is_active=False)
    assert run(refused_code, conversation, key) == 4003


def test_a_member_who_left_is_refused(pair):
    _, bob, conversation = pair
    key = key_of(bob)
    Participant.objects.filter(conversation=conversation, member=bob).update(left_at="2026-01-01T00:00Z")
    assert run(refused_code, conversation, key) == 4003


# --- Messages --------------------------------------------------------------------------


def test_a_message_is_stored_then_broadcast_and_acknowledged(pair):
    alice, bob, conversation = pair
    client_id = str(uuid.uuid4())

    async def scenario():
        alice_socket = await connected(conversation, alice)
        alice_phone = await connected(conversation, alice)
        bob_socket = await connected(conversation, bob)
        await send_json(alice_socket, {"type": "message", "body": "  Hello <b>Bob</b>  ",
                                       "client_id": client_id})
        ack = await receive_type(alice_socket, "ack")
        received = await receive_type(bob_socket, "message")
        on_her_phone = await receive_type(alice_phone, "message")
        # The socket it came from was answered by the ack: no copy of the broadcast.
        after_ack = []
        while not await alice_socket.receive_nothing(timeout=0.3):
            after_ack.append(await alice_socket.receive_json_from())
        for socket in (alice_socket, alice_phone, bob_socket):
            await socket.disconnect()
        return ack, received, on_her_phone, after_ack

    ack, received, on_her_phone, after_ack = run(scenario)
    stored = Message.objects.get()
    assert ack == {"type": "ack", "client_id": client_id, "id": stored.pk}
    assert stored.body == "Hello <b>Bob</b>"  # trimmed; escaped by whoever shows it
    assert received == on_her_phone
    assert [frame for frame in after_ack if frame["type"] == "message"] == []
    assert received["id"] == stored.pk
    assert received["body"] == "Hello <b>Bob</b>"
    assert received["client_id"] == client_id
    assert received["sender"] == alice.pk
    assert received["sender_name"] == "Alice"
    assert received["conversation"] == conversation.pk
    assert received["client_id"] == client_id
    assert received["created_at"]


def test_the_same_client_id_twice_stores_one_message(pair):
    alice, bob, conversation = pair
    client_id = str(uuid.uuid4())

    async def scenario():
        socket = await connected(conversation, alice)
        await send_json(socket, {"type": "message", "body": "Once", "client_id": client_id})
        first = await receive_type(socket, "ack")
        await socket.disconnect()
        # The network blipped before the ack arrived: the page sends it again.
        socket = await connected(conversation, alice)
        await send_json(socket, {"type": "message", "body": "Once", "client_id": client_id})
        second = await receive_type(socket, "ack")
        await socket.disconnect()
        return first, second

    first, second = run(scenario)
    assert first["id"] == second["id"]
    assert Message.objects.count() == 1


def test_a_reconnecting_client_gets_what_it_missed_in_order(pair):
    alice, bob, conversation = pair
    first = conversations.message_post(conversation=conversation, sender=alice, body="one").message

    async def scenario():
        bob_socket = await connected(conversation, bob)
        await bob_socket.disconnect()
        # While Bob is away, Alice writes twice.
        await sync_to_async(conversations.message_post)(conversation=conversation, sender=alice, body="two")
        await sync_to_async(conversations.message_post)(conversation=conversation, sender=alice, body="three")
        bob_socket = await connected(conversation, bob)
        await send_json(bob_socket, {"type": "resume", "last_id": first.pk})
        frames = []
        while True:
            frame = await bob_socket.receive_json_from(timeout=3)
            frames.append(frame)
            if frame["type"] == "resumed":
                break
        await bob_socket.disconnect()
        return frames

    frames = run(scenario)
    assert [f["body"] for f in frames if f["type"] == "message"] == ["two", "three"]
    ids = [f["id"] for f in frames if f["type"] == "message"]
    assert ids == sorted(ids)
    assert frames[-1] == {"type": "resumed", "last_id": ids[-1], "more": False}


def test_the_21st_message_in_ten_seconds_gets_an_error_and_the_socket_stays_open(pair):
    alice, _, conversation = pair
    cache.clear()

    async def scenario():
        socket = await connected(conversation, alice)
        for n in range(conversations.RATE_LIMIT):
            await send_json(socket, {"type": "message", "body": f"n{n}", "client_id": str(uuid.uuid4())})
            await receive_type(socket, "ack")
        await send_json(socket, {"type": "message", "body": "too many", "client_id": str(uuid.uuid4())})
        error = await receive_type(socket, "error")
        # Still open: other frames still work.
        await send_json(socket, {"type": "resume", "last_id": 0})
        resumed = await receive_type(socket, "resumed")
        await socket.disconnect()
        return error, resumed

    error, resumed = run(scenario)
    assert error["code"] == "rate_limited"
    assert resumed["type"] == "resumed"
    assert Message.objects.count() == conversations.RATE_LIMIT


@pytest.mark.parametrize(("text", "code"), [
    ("{not json", "bad_json"),
    ("[1, 2]", "bad_frame"),
    (json.dumps({"body": "no type"}), "bad_frame"),
    (json.dumps({"type": "dance"}), "unknown_type"),
    (json.dumps({"type": "message", "body": "   ", "client_id": str(uuid.uuid4())}), "invalid"),
    (json.dumps({"type": "message", "body": 42, "client_id": str(uuid.uuid4())}), "invalid"),
    (json.dumps({"type": "message", "body": "x" * 4001, "client_id": str(uuid.uuid4())}), "invalid"),
    (json.dumps({"type": "message", "body": "hi", "client_id": "not-a-uuid"}), "invalid"),
    (json.dumps({"type": "read", "last_id": "ten"}), "invalid"),
    (json.dumps({"type": "resume", "last_id": -1}), "invalid"),
    (json.dumps({"type": "message", "body": "x" * (MAX_FRAME_BYTES + 1)}), "too_large"),
])
def test_bad_frames_get_an_error_frame_and_change_nothing(pair, text, code):
    alice, _, conversation = pair

    async def scenario():
        socket = await connected(conversation, alice)
        await send_text(socket, text)
        error = await receive_type(socket, "error")
        await send_json(socket, {"type": "resume", "last_id": 0})
        await receive_type(socket, "resumed")  # the socket is still open
        await socket.disconnect()
        return error

    error = run(scenario)
    assert error["code"] == code
    assert error["message"]
    assert Message.objects.count() == 0


def test_a_body_of_exactly_4000_characters_is_accepted(pair):
    alice, _, conversation = pair

    async def scenario():
        socket = await connected(conversation, alice)
        await send_json(socket, {"type": "message", "body": "x" * 4000, "client_id": str(uuid.uuid4())})
        ack = await receive_type(socket, "ack")
        await socket.disconnect()
        return ack

    assert run(scenario)["id"] == Message.objects.get().pk


def test_the_blocked_member_cannot_post_over_an_open_socket_and_is_closed(pair):
    alice, bob, conversation = pair

    async def scenario():
        bob_socket = await connected(conversation, bob)
        await sync_to_async(conversations.block_member)(blocker=alice, blocked=bob)
        output = await bob_socket.receive_output(timeout=3)
        return output

    output = run(scenario)
    assert output == {"type": "websocket.close", "code": 4003}


def test_the_blocker_gets_a_blocked_error_frame(pair):
    alice, bob, conversation = pair
    Block.objects.create(blocker=alice, blocked=bob)

    async def scenario():
        socket = await connected(conversation, alice)
        await send_json(socket, {"type": "message", "body": "hi", "client_id": str(uuid.uuid4())})
        error = await receive_type(socket, "error")
        await socket.disconnect()
        return error

    error = run(scenario)
    assert error["code"] == "blocked"
    assert Message.objects.count() == 0


# --- Typing, read receipts, counts -----------------------------------------------------


def test_typing_reaches_the_others_only(pair):
    alice, bob, conversation = pair

    async def scenario():
        alice_socket = await connected(conversation, alice)
        bob_socket = await connected(conversation, bob)
        await send_json(alice_socket, {"type": "typing"})
        typing = await receive_type(bob_socket, "typing")
        nothing_for_alice = await alice_socket.receive_nothing(timeout=0.3)
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return typing, nothing_for_alice

    typing, nothing_for_alice = run(scenario)
    assert typing == {"type": "typing", "member": alice.pk, "name": "Alice"}
    assert nothing_for_alice


def test_reading_sends_seen_to_the_sender_and_counts_to_the_reader(pair):
    alice, bob, conversation = pair
    message = conversations.message_post(conversation=conversation, sender=alice, body="Hi").message

    async def scenario():
        alice_socket = await connected(conversation, alice)
        bob_socket = await connected(conversation, bob)
        await send_json(bob_socket, {"type": "read", "last_id": message.pk})
        seen = await receive_type(alice_socket, "seen")
        counts = await receive_type(bob_socket, "counts")
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return seen, counts

    seen, counts = run(scenario)
    assert seen == {"type": "seen", "member": bob.pk, "last_id": message.pk}
    assert counts["messages"] == 0
    assert Participant.objects.get(conversation=conversation, member=bob).last_read_message_id == message.pk


def test_a_new_message_pushes_the_unread_count_to_every_device_of_the_others(pair):
    alice, bob, conversation = pair

    async def scenario():
        # Bob's phone follows the conversation; his laptop sits on another page (its
        # member group is all it needs, so any of his sockets will do).
        phone = await connected(conversation, bob)
        laptop = await connected(conversation, bob)
        await sync_to_async(conversations.message_post)(conversation=conversation, sender=alice, body="Hi")
        first = await receive_type(phone, "counts")
        second = await receive_type(laptop, "counts")
        await phone.disconnect()
        await laptop.disconnect()
        return first, second

    first, second = run(scenario)
    assert first["messages"] == second["messages"] == 1


def test_closing_a_members_sockets_closes_the_chat_socket(pair):
    alice, _, conversation = pair

    async def scenario():
        socket = await connected(conversation, alice)
        await sync_to_async(live.close_member_sockets)(alice.pk)
        return await socket.receive_output(timeout=3)

    assert run(scenario) == {"type": "websocket.close", "code": live.CLOSE_SIGNED_OUT}


def test_a_member_made_inactive_after_connecting_cannot_post(pair):
    alice, _, conversation = pair

    async def scenario():
        socket = await connected(conversation, alice)
        await sync_to_async(Member.objects.filter(pk=alice.pk).update)(is_active=False)
        await send_json(socket, {"type": "message", "body": "hi", "client_id": str(uuid.uuid4())})
        error = await receive_type(socket, "error")
        await socket.disconnect()
        return error

    assert run(scenario)["code"] == "forbidden"
    assert Message.objects.count() == 0


def test_events_of_other_conversations_do_not_leak(pair):
    alice, bob, conversation = pair
    other_listing = ListingFactory(owner=alice, title="Ladder")
    carol = MemberFactory(display_name="Carol")
    elsewhere = conversations.conversation_for_listing(listing=other_listing, member=carol)

    async def scenario():
        bob_socket = await connected(conversation, bob)
        await sync_to_async(conversations.message_post)(conversation=elsewhere, sender=alice, body="secret")
        frames = []
        while not await bob_socket.receive_nothing(timeout=0.5):
            frames.append(await bob_socket.receive_json_from())
        await bob_socket.disconnect()
        return frames

    frames = run(scenario)
    assert not any(f.get("type") == "message" for f in frames)
    assert "secret" not in json.dumps(frames)
