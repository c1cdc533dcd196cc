"""What keeps the chat fast without bending its rules: few queries per message, stores
side by side on PostgreSQL, no leaked connections, and the rules still read fresh on
every post (bench/chat.py measures the speed; these tests only prove behaviour)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import Member
from messaging import conversations
from messaging.models import Block, Message
from messaging.sockets import socket_db_threads
from tests.factories import ListingFactory, MemberFactory
from tests.messaging.live_support import (
    communicator,
    receive_type,
    send_json,
    session_cookie,
    signed_in_client,
)

pytestmark = pytest.mark.django_db(transaction=True)

STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()


@pytest.fixture
def pair():
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    listing = ListingFactory(owner=alice, title="Cordless drill")
    conversation = conversations.conversation_for_listing(listing=listing, member=bob)
    return alice, bob, conversation


@pytest.fixture
def close_socket_connections():
    """The socket threads keep their connections between calls: close them before the
    test database is flushed or dropped."""
    yield
    socket_db_threads.close_connections()


def statements(context) -> list[str]:
    return [q["sql"] for q in context.captured_queries if q["sql"].lstrip().upper().startswith(STATEMENTS)]


def test_a_message_costs_one_statement_on_postgresql_and_one_more_when_the_counts_move(
    pair, django_capture_on_commit_callbacks
):
    alice, bob, conversation = pair
    with CaptureQueriesContext(connection) as first, django_capture_on_commit_callbacks(execute=True):
        conversations.message_post(conversation=conversation, sender=bob, body="Hi",
                                   client_id=str(uuid.uuid4()))
    # One statement on PostgreSQL; on SQLite the participants' read, the insert and
    # two updates. Alice had nothing unread: her counts are recomputed (one query).
    per_message = 1 if connection.vendor == "postgresql" else 4
    assert len(statements(first)) == per_message + 1
    with CaptureQueriesContext(connection) as second, django_capture_on_commit_callbacks(execute=True):
        conversations.message_post(conversation=conversation, sender=bob, body="Still there?",
                                   client_id=str(uuid.uuid4()))
    # She had: the conversation was counted already, nothing is recounted.
    assert len(statements(second)) == per_message
    assert Message.objects.count() == 2


def test_a_resent_client_id_is_caught_by_the_constraint_and_answered_with_the_stored_message(pair):
    _, bob, conversation = pair
    client_id = str(uuid.uuid4())
    first = conversations.message_post(conversation=conversation, sender=bob, body="Hi",
                                       client_id=client_id)
    again = conversations.message_post(conversation=conversation, sender=bob, body="Hi",
                                       client_id=client_id)
    assert first.created and not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1


def test_a_resend_after_the_rate_limit_is_still_acknowledged(pair, monkeypatch):
    _, bob, conversation = pair
    monkeypatch.setattr(conversations, "RATE_LIMIT", 1)
    client_id = str(uuid.uuid4())
    stored = conversations.message_post(conversation=conversation, sender=bob, body="Hi",
                                        client_id=client_id).message
    again = conversations.message_post(conversation=conversation, sender=bob, body="Hi",
                                       client_id=client_id)
    assert again.message.pk == stored.pk and not again.created
    with pytest.raises(conversations.ChatError) as refused:
        conversations.message_post(conversation=conversation, sender=bob, body="More",
                                   client_id=str(uuid.uuid4()))
    assert refused.value.code == "rate_limited"


def test_suspended_and_banned_members_cannot_post(pair):
    alice, bob, conversation = pair
    Member.objects.filter(pk=bob.pk).update(suspended_until=timezone.now() + timedelta(days=2),
                                                 standing_reason="Spam")
    with pytest.raises(conversations.ChatError) as suspended:
        # `bob` in memory still looks fine: the post reads his standing itself.
        conversations.message_post(conversation=conversation, sender=bob, body="Hi")
    assert suspended.value.code == "forbidden"
    Member.objects.filter(pk=bob.pk).update(suspended_until=None, banned_at=timezone.now())
    with pytest.raises(conversations.ChatError):
        conversations.message_post(conversation=conversation, sender=bob, body="Hi")
    assert Message.objects.count() == 0


def test_an_open_socket_follows_a_block_and_an_unblock(pair, close_socket_connections):
    alice, bob, conversation = pair

    async def scenario():
        key = await sync_to_async(lambda: session_cookie(signed_in_client(alice)))()
        socket = communicator(f"/ws/conversations/{conversation.pk}/", session_key=key)
        ok, _ = await socket.connect()
        assert ok
        await sync_to_async(conversations.block_member)(blocker=alice, blocked=bob)
        await send_json(socket, {"type": "message", "body": "one", "client_id": str(uuid.uuid4())})
        refused = await receive_type(socket, "error")
        await sync_to_async(conversations.unblock_member)(blocker=alice, blocked=bob)
        await send_json(socket, {"type": "message", "body": "two", "client_id": str(uuid.uuid4())})
        ack = await receive_type(socket, "ack")
        await socket.disconnect()
        return refused, ack

    refused, ack = async_to_sync(scenario)()
    assert refused["code"] == "blocked"
    assert Message.objects.get().pk == ack["id"]
    assert Message.objects.get().body == "two"
    assert not Block.objects.exists()


def test_one_sockets_messages_are_acknowledged_in_order_and_reach_the_other_side_in_order(
    pair, close_socket_connections
):
    alice, bob, conversation = pair

    async def scenario():
        def keys():
            return session_cookie(signed_in_client(alice)), session_cookie(signed_in_client(bob))

        alice_key, bob_key = await sync_to_async(keys)()
        socket = communicator(f"/ws/conversations/{conversation.pk}/", session_key=alice_key)
        bob_socket = communicator(f"/ws/conversations/{conversation.pk}/", session_key=bob_key)
        for each in (socket, bob_socket):
            ok, _ = await each.connect()
            assert ok
        sent = [str(uuid.uuid4()) for _ in range(5)]
        for n, client_id in enumerate(sent):
            await send_json(socket, {"type": "message", "body": f"m{n}", "client_id": client_id})
        frames, received = [], []
        while sum(1 for f in frames if f["type"] == "ack") < len(sent):
            frames.append(await socket.receive_json_from(timeout=5))
        while len(received) < len(sent):
            received.append(await receive_type(bob_socket, "message", timeout=5))
        await socket.disconnect()
        await bob_socket.disconnect()
        return sent, frames, received

    sent, frames, received = async_to_sync(scenario)()
    assert [f["client_id"] for f in frames if f["type"] == "ack"] == sent
    assert [f for f in frames if f["type"] == "message"] == []
    assert [f["client_id"] for f in received] == sent
    assert [f["id"] for f in received] == [f["id"] for f in frames if f["type"] == "ack"]
    bodies = list(Message.objects.order_by("id").values_list("body", flat=True))
    assert bodies == [f"m{n}" for n in range(5)]


def test_concurrent_posts_on_postgresql_are_all_stored_in_commit_order(is_postgres, monkeypatch):
    if not is_postgres:
        pytest.skip("real concurrency needs PostgreSQL")
    monkeypatch.setattr(conversations, "RATE_LIMIT", 100)
    alice = MemberFactory()
    pairs = []
    for _ in range(3):
        other = MemberFactory()
        listing = ListingFactory(owner=alice)
        pairs.append((conversations.conversation_for_listing(listing=listing, member=other), other))
    barrier = threading.Barrier(12)
    errors: list[Exception] = []

    def post(conversation, sender, n):
        try:
            barrier.wait()
            for i in range(5):
                conversations.message_post(conversation=conversation, sender=sender,
                                           body=f"{n}-{i}", client_id=str(uuid.uuid4()))
        except Exception as error:  # handed to the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = []
    for conversation, other in pairs:
        for n in range(2):
            threads.append(threading.Thread(target=post, args=(conversation, other, n)))
            threads.append(threading.Thread(target=post, args=(conversation, alice, n)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Message.objects.count() == 12 * 5
    for conversation, _ in pairs:
        # Posts serialise per conversation on the participants' rows, so the ids match
        # the commit order and last_message_at follows the newest.
        newest = Message.objects.filter(conversation=conversation).order_by("-id").first()
        conversation.refresh_from_db()
        assert conversation.last_message_at == newest.created_at


def test_the_socket_threads_leave_no_connection_open_on_postgresql(
    is_postgres, pair, close_socket_connections
):
    if not is_postgres:
        pytest.skip("pg_stat_activity is PostgreSQL's")
    alice, bob, conversation = pair

    async def scenario():
        keys = [await sync_to_async(lambda m=m: session_cookie(signed_in_client(m)))()
                for m in (alice, bob)]
        sockets = []
        for key in keys:
            socket = communicator(f"/ws/conversations/{conversation.pk}/", session_key=key)
            assert (await socket.connect())[0]
            sockets.append(socket)
        for n in range(10):
            await send_json(sockets[n % 2], {"type": "message", "body": f"m{n}",
                                             "client_id": str(uuid.uuid4())})
        for socket in sockets:
            for _ in range(5):
                await receive_type(socket, "ack", timeout=10)
            await socket.disconnect()

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND pid <> pg_backend_pid()")
            return cursor.fetchone()[0]

    before = backends()
    async_to_sync(scenario)()
    assert Message.objects.count() == 10
    assert backends() <= before + socket_db_threads.size
    socket_db_threads.close_connections()
    # A backend leaves pg_stat_activity a moment after its client hung up.
    deadline = time.monotonic() + 5
    while backends() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backends() == before
