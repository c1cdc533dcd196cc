"""Two daphne processes sharing one Redis and one PostgreSQL behave as one server: a chat
message sent to worker 1 arrives on worker 2, and a notification reaches a member's
sockets on both workers. Real processes, real sockets (the `websockets` library), a real
session cookie and an Origin header. Runs only with REDIS_URL and PostgreSQL (the
workers must see the test database, which SQLite keeps in this process's memory)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from messaging import conversations, services
from tests.factories import ListingFactory, MemberFactory
from tests.messaging.live_support import session_cookie, signed_in_client

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL"),
]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@contextmanager
def daphne_workers(count: int):
    """Start `count` daphne processes on the test database; yield their ports; always
    stop them. Each is ready once its /healthz answers."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _test_database_url(),
        "STATIC_MANIFEST": "false",
        "LOG_LEVEL": "WARNING",
    }
    workers = []
    logs = []
    try:
        for _ in range(count):
            port = _free_port()
            log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally, after the process
            logs.append(log)
            process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                 "config.asgi:application"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
            workers.append((process, port))
        deadline = time.monotonic() + 30
        for process, port in workers:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"daphne on {port} exited: {_read(logs)}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"daphne on {port} not ready: {_read(logs)}")
                time.sleep(0.2)
        yield [port for _, port in workers]
    finally:
        for process, _ in workers:
            process.terminate()
        for process, _ in workers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def _read(logs) -> str:
    out = []
    for log in logs:
        log.seek(0)
        out.append(log.read().decode(errors="replace")[-2000:])
    return "\n---\n".join(out)


async def _open(port: int, path: str, session_key: str):
    from websockets.asyncio.client import connect

    return await connect(
        f"ws://127.0.0.1:{port}{path}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"},
        open_timeout=10,
    )


async def _next_of_type(ws, kind: str, timeout: float = 10) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
        if frame.get("type") == kind:
            return frame


def _in_thread_db(func, *args, **kwargs):
    """Run ORM code from the event loop's side, closing the thread's connection after."""
    def run():
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    return asyncio.to_thread(run)


def test_a_chat_message_crosses_from_one_worker_to_the_other():
    if connection.vendor != "postgresql":
        pytest.skip("the workers need the test database: PostgreSQL")
    alice, bob = MemberFactory(display_name="Alice"), MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, title="Cordless drill")
    chat = conversations.conversation_for_listing(listing=drill, member=bob)
    alice_key = session_cookie(signed_in_client(alice))
    bob_key = session_cookie(signed_in_client(bob))
    path = f"/ws/conversations/{chat.pk}/"

    async def scenario(ports):
        bob_ws = await _open(ports[1], path, bob_key)
        alice_ws = await _open(ports[0], path, alice_key)
        try:
            client_id = str(uuid.uuid4())
            await alice_ws.send(json.dumps(
                {"type": "message", "body": "Is it free on Saturday?", "client_id": client_id}
            ))
            ack = await _next_of_type(alice_ws, "ack")
            received = await _next_of_type(bob_ws, "message")
            assert received["id"] == ack["id"]
            assert received["body"] == "Is it free on Saturday?"
            assert received["sender"] == alice.pk
        finally:
            await alice_ws.close()
            await bob_ws.close()

    with daphne_workers(2) as ports:
        asyncio.run(scenario(ports))
    assert chat.messages.get().body == "Is it free on Saturday?"


def test_a_notification_reaches_both_devices_on_both_workers():
    if connection.vendor != "postgresql":
        pytest.skip("the workers need the test database: PostgreSQL")
    alice = MemberFactory(display_name="Alice")
    laptop = session_cookie(signed_in_client(alice))
    phone = session_cookie(signed_in_client(alice))

    def notify():
        services.notification_create(
            member=alice, kind="exchange_requested", dedupe_key="two-workers",
            url="/listings/", params={"who": "Bob", "listing": "Cordless drill"},
        )

    async def scenario(ports):
        sockets = [await _open(ports[0], "/ws/notifications/", laptop),
                   await _open(ports[1], "/ws/notifications/", phone)]
        try:
            for ws in sockets:
                assert (await _next_of_type(ws, "counts"))["notifications"] == 0
            # Created in this process: it reaches the workers through Redis only.
            await _in_thread_db(notify)
            for ws in sockets:
                frame = await _next_of_type(ws, "notification")
                assert frame["text"] == "Bob asks for “Cordless drill”."
                assert (await _next_of_type(ws, "counts"))["notifications"] == 1
        finally:
            for ws in sockets:
                await ws.close()

    with daphne_workers(2) as ports:
        asyncio.run(scenario(ports))
