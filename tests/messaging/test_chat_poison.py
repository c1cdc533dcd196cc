"""Poisoned frames and failing stores on the chat socket: each gets an answer naming
what went wrong, costs that frame only (the next message on the same socket is stored
and acknowledged), and leaves one line in the log rather than a traceback. Through the
real ASGI application, like tests/messaging/test_chat_consumer.py."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import DatabaseError, OperationalError

from messaging import conversations
from messaging.consumers import ChatConsumer
from messaging.models import Message
from tests.messaging.live_support import communicator, receive_type, send_json, send_text
from tests.messaging.test_chat_consumer import connected, key_of, pair, run  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def message_frame(body_json: str, client_id_json: str) -> str:
    """A message frame written by hand, so that it can hold what json.dumps never makes."""
    return f'{{"type": "message", "body": {body_json}, "client_id": {client_id_json}}}'


POISONS = {
    # A lone surrogate: valid JSON, no character; PostgreSQL refuses the statement.
    "lone surrogate": (lambda cid: message_frame('"hi \\ud800"', f'"{cid}"'), "invalid"),
    "only NUL": (lambda cid: message_frame('"\\u0000\\u0000"', f'"{cid}"'), "invalid"),
    "nested 1,500 deep": (lambda cid: message_frame(nested(1500), f'"{cid}"'), "bad_frame"),
    "nested object": (lambda cid: message_frame('{"a":' * 1500 + "1" + "}" * 1500, f'"{cid}"'),
                      "bad_frame"),
    "body a number": (lambda cid: message_frame("12", f'"{cid}"'), "invalid"),
    "body a list": (lambda cid: message_frame('["hi"]', f'"{cid}"'), "invalid"),
    "body null": (lambda cid: message_frame("null", f'"{cid}"'), "invalid"),
    "client id an object": (lambda cid: message_frame('"hi"', f'{{"x": "{cid}"}}'), "invalid"),
    "body over the limit": (lambda cid: message_frame(f'"{"é" * 4001}"', f'"{cid}"'), "invalid"),
    "type a number": (lambda cid: f'{{"type": 7, "client_id": "{cid}"}}', "bad_frame"),
}


@pytest.mark.parametrize("name", POISONS)
def test_a_poisoned_frame_gets_an_error_and_the_next_message_is_stored(pair, name):  # noqa: F811
    alice, _, conversation = pair
    frame, code = POISONS[name]
    poisoned_id = str(uuid.uuid4())
    good_id = str(uuid.uuid4())

    async def scenario():
        socket = await connected(conversation, alice)
        await send_text(socket, frame(poisoned_id))
        error = await receive_type(socket, "error")
        await send_json(socket, {"type": "message", "body": "still here", "client_id": good_id})
        ack = await receive_type(socket, "ack")
        await socket.disconnect()
        return error, ack

    error, ack = run(scenario)
    assert error["code"] == code
    assert error["message"]
    stored = Message.objects.get()
    assert stored.body == "still here"
    assert ack == {"type": "ack", "client_id": good_id, "id": stored.pk}


def test_a_deep_frame_is_refused_without_a_traceback(pair, caplog):  # noqa: F811
    alice, _, conversation = pair

    async def scenario():
        socket = await connected(conversation, alice)
        for _ in range(5):
            await send_text(socket, nested(1500))
            await receive_type(socket, "error")
        await socket.disconnect()

    with caplog.at_level(logging.INFO):
        run(scenario)
    assert not [record for record in caplog.records if record.exc_info]
    assert "RecursionError" not in caplog.text


def test_brackets_inside_a_message_are_text_not_nesting(pair):  # noqa: F811
    alice, _, conversation = pair
    body = "[[[[[[[[[[[[ {{{{{{{{{{{{ ]] :-]"

    async def scenario():
        socket = await connected(conversation, alice)
        await send_json(socket, {"type": "message", "body": body, "client_id": str(uuid.uuid4())})
        await receive_type(socket, "ack")
        await socket.disconnect()

    run(scenario)
    assert Message.objects.get().body == body


def failing_store(monkeypatch, error: Exception, times: int | None):
    """Make the store fail `times` times (None: always) with `error`, in whichever
    thread it runs; returns the list of failures so far."""
    real = conversations._post_in_one_statement
    failures: list[Exception] = []

    def store(*args, **kwargs):
        if times is None or len(failures) < times:
            failures.append(error)
            raise error
        return real(*args, **kwargs)

    # The first database work of every post, on PostgreSQL and SQLite alike.
    monkeypatch.setattr(conversations, "_post_in_one_statement", store)
    return failures


def test_a_database_error_in_the_store_gets_an_error_frame_and_the_socket_goes_on(
        pair, monkeypatch, caplog):  # noqa: F811
    alice, bob, conversation = pair
    failed_id = str(uuid.uuid4())
    good_id = str(uuid.uuid4())

    async def scenario():
        bob_socket = await connected(conversation, bob)
        socket = await connected(conversation, alice)
        failures = failing_store(monkeypatch, DatabaseError("value too long for type"), None)
        await send_json(socket, {"type": "message", "body": "lost?", "client_id": failed_id})
        error = await receive_type(socket, "error")
        monkeypatch.undo()
        await send_json(socket, {"type": "message", "body": "next", "client_id": good_id})
        ack = await receive_type(socket, "ack")
        received = await receive_type(bob_socket, "message")
        await socket.disconnect()
        await bob_socket.disconnect()
        return failures, error, ack, received

    with caplog.at_level(logging.ERROR, logger="messaging"):
        failures, error, ack, received = run(scenario)
    assert len(failures) == 1  # not a connection problem: not retried
    assert error["code"] == "unavailable"
    assert error["client_id"] == failed_id
    stored = Message.objects.get()
    assert (stored.body, stored.client_id) == ("next", uuid.UUID(good_id))
    assert ack["id"] == received["id"] == stored.pk
    logged = [record for record in caplog.records if "not stored" in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is None  # one line, no traceback


def test_a_lost_database_connection_is_retried_and_stores_the_message_once(
        pair, monkeypatch):  # noqa: F811
    alice, bob, conversation = pair
    client_id = str(uuid.uuid4())

    async def scenario():
        bob_socket = await connected(conversation, bob)
        socket = await connected(conversation, alice)
        failures = failing_store(monkeypatch, OperationalError("server closed the connection"), 2)
        await send_json(socket, {"type": "message", "body": "after a restart",
                                 "client_id": client_id})
        ack = await receive_type(socket, "ack", timeout=5)
        received = await receive_type(bob_socket, "message")
        frames = []
        while not await socket.receive_nothing(timeout=0.3):
            frames.append(await socket.receive_json_from())
        await socket.disconnect()
        await bob_socket.disconnect()
        return failures, ack, received, frames

    failures, ack, received, frames = run(scenario)
    assert len(failures) == 2
    stored = Message.objects.get()
    assert ack == {"type": "ack", "client_id": client_id, "id": stored.pk}
    assert received["id"] == stored.pk
    assert [frame for frame in frames if frame["type"] == "error"] == []


def test_messages_behind_a_retried_store_keep_their_order(pair, monkeypatch):  # noqa: F811
    alice, bob, conversation = pair
    ids = [str(uuid.uuid4()) for _ in range(3)]

    async def scenario():
        socket = await connected(conversation, alice)
        failing_store(monkeypatch, OperationalError("connection reset"), 1)
        for n, client_id in enumerate(ids):
            await send_json(socket, {"type": "message", "body": f"m{n}", "client_id": client_id})
        acks = [await receive_type(socket, "ack", timeout=5) for _ in ids]
        await socket.disconnect()
        return acks

    acks = run(scenario)
    assert [ack["client_id"] for ack in acks] == ids
    assert list(Message.objects.order_by("id").values_list("body", flat=True)) == ["m0", "m1", "m2"]


def test_a_failing_handler_answers_server_error_and_the_socket_goes_on(pair, monkeypatch):  # noqa: F811
    alice, _, conversation = pair

    async def broken(self, content):
        raise RuntimeError("boom")

    monkeypatch.setattr(ChatConsumer, "on_typing", broken)

    async def scenario():
        socket = await connected(conversation, alice)
        await send_json(socket, {"type": "typing"})
        error = await receive_type(socket, "error")
        await send_json(socket, {"type": "message", "body": "fine", "client_id": str(uuid.uuid4())})
        await receive_type(socket, "ack")
        await socket.disconnect()
        return error

    assert run(scenario)["code"] == "server_error"
    assert Message.objects.count() == 1


def test_a_rate_limited_message_takes_no_lock_and_no_transaction(pair, django_assert_max_num_queries):  # noqa: F811
    alice, _, conversation = pair
    cache.clear()
    for n in range(conversations.RATE_LIMIT):
        conversations.message_post(conversation=conversation, sender=alice, body=f"n{n}")
    with django_assert_max_num_queries(0), pytest.raises(conversations.ChatError) as refused:
        conversations.message_post(conversation=conversation, sender=alice, body="too many")
    assert refused.value.code == "rate_limited"
    # With a client_id, one plain read finds whether it was stored before; no lock.
    with django_assert_max_num_queries(1) as queries, pytest.raises(conversations.ChatError):
        conversations.message_post(conversation=conversation, sender=alice, body="again",
                                   client_id=str(uuid.uuid4()))
    assert "FOR UPDATE" not in queries.captured_queries[0]["sql"]


def test_a_resend_refused_by_the_rate_limit_is_still_acknowledged(pair):  # noqa: F811
    alice, _, conversation = pair
    cache.clear()
    client_id = str(uuid.uuid4())
    first = conversations.message_post(conversation=conversation, sender=alice, body="once",
                                       client_id=client_id)
    for n in range(conversations.RATE_LIMIT - 1):
        conversations.message_post(conversation=conversation, sender=alice, body=f"n{n}")
    again = conversations.message_post(conversation=conversation, sender=alice, body="once",
                                       client_id=client_id)
    assert (again.message.pk, again.created) == (first.message.pk, False)


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/conversations/abc/", "/ws/",
                                  "/ws/conversations/99999999999999999999999/"])
def test_unknown_socket_paths_are_refused_at_the_handshake_quietly(pair, path, caplog):  # noqa: F811
    alice, _, _ = pair

    key_of_alice = key_of(alice)

    async def attempt():
        comm = communicator(path, session_key=key_of_alice)
        accepted, _code = await comm.connect()
        await comm.disconnect()
        return accepted

    with caplog.at_level(logging.WARNING):
        assert run(attempt) is False
    assert not [record for record in caplog.records if record.exc_info]
    assert "No route found" not in caplog.text


def test_every_poison_but_the_deep_ones_is_valid_json():
    # A typo in the table would test the bad_json path instead.
    for frame, code in POISONS.values():
        if code != "bad_frame":
            json.loads(frame("x"))


def test_a_resend_broadcasts_a_message_whose_first_broadcast_was_lost(pair, monkeypatch):  # noqa: F811
    alice, bob, conversation = pair
    client_id = str(uuid.uuid4())

    async def scenario():
        bob_socket = await connected(conversation, bob)
        # Stored, then the worker died before publishing: nobody heard of it.
        with monkeypatch.context() as patch:
            patch.setattr(conversations, "layer_send_many", lambda sends: None)
            await sync_to_async(conversations.message_post)(
                conversation=conversation, sender=alice, body="lost?", client_id=client_id)
        heard = []
        while not await bob_socket.receive_nothing(timeout=0.3):
            heard.append((await bob_socket.receive_json_from())["type"])
        assert "message" not in heard
        # Alice's page never got the ack and sends it again on a new socket.
        alice_socket = await connected(conversation, alice)
        await send_json(alice_socket, {"type": "message", "body": "lost?", "client_id": client_id})
        ack = await receive_type(alice_socket, "ack")
        received = await receive_type(bob_socket, "message")
        await alice_socket.disconnect()
        await bob_socket.disconnect()
        return ack, received

    ack, received = run(scenario)
    assert ack["id"] == received["id"] == Message.objects.get().pk
    assert received["body"] == "lost?"


def test_a_long_absence_resumes_in_parts_each_saying_if_more_follows(pair, monkeypatch):  # noqa: F811
    alice, bob, conversation = pair
    monkeypatch.setattr(conversations, "RESUME_LIMIT", 2)
    for n in range(3):
        conversations.message_post(conversation=conversation, sender=alice, body=f"m{n}")

    async def scenario():
        socket = await connected(conversation, bob)
        parts = []
        last_id = 0
        while True:
            await send_json(socket, {"type": "resume", "last_id": last_id})
            bodies = []
            while True:
                frame = await socket.receive_json_from(timeout=3)
                if frame["type"] == "message":
                    bodies.append(frame["body"])
                elif frame["type"] == "resumed":
                    break
            parts.append((bodies, frame["more"]))
            last_id = frame["last_id"]
            if not frame["more"]:
                break
        await socket.disconnect()
        return parts

    assert run(scenario) == [(["m0", "m1"], True), (["m2"], False)]


def test_an_old_message_sent_again_is_acknowledged_but_not_broadcast_again(pair):  # noqa: F811
    alice, _, conversation = pair
    client_id = str(uuid.uuid4())
    first = conversations.message_post(conversation=conversation, sender=alice, body="old",
                                       client_id=client_id).message
    Message.objects.filter(pk=first.pk).update(
        created_at=first.created_at - conversations.REBROADCAST_WITHIN * 2)
    sent = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conversations, "layer_send_many", sent.extend)
        again = conversations.message_post(conversation=conversation, sender=alice, body="old",
                                           client_id=client_id)
    assert (again.message.pk, again.created) == (first.pk, False)
    assert sent == []
