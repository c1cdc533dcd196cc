"""Smoke test of the production topology (deploy/serve.py) through nginx: pages, a static
file served by nginx with its cache header, a real log-in, a chat message between two
sockets held by the two websocket workers, and bodies too large for it."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from messaging import conversations
from tests.deploy.conftest import get
from tests.factories import PASSWORD, ListingFactory, MemberFactory
from tests.messaging.live_support import session_cookie, signed_in_client

# The same websocket client as the two-worker test: a signed-in socket, the next frame of a type.
from tests.messaging.test_two_workers import _next_of_type, _open

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _member(**kwargs):
    member = MemberFactory(**kwargs)
    # The workers know the production hashers only, not the tests' fast MD5 one.
    member.password = PBKDF2PasswordHasher().encode(PASSWORD, uuid.uuid4().hex[:16])
    member.save(update_fields=["password"])
    return member


def _log_in(base: str, email: str) -> str:
    """Sign in through the real form (CSRF cookie and token); return the session key."""
    host = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status == 200
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "login": email, "password": PASSWORD}
    )
    conn.request("POST", "/accounts/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf_cookie}",
        "Referer": f"{base}accounts/login/",
    })
    response = conn.getresponse()
    response.read()
    assert response.status == 302, response.status
    cookies = "; ".join(response.headers.get_all("Set-Cookie"))
    return re.search(rf"{settings.SESSION_COOKIE_NAME}=([^;]+)", cookies).group(1)


def test_pages_and_static_files_through_nginx(topology):
    base = topology["url"]
    ListingFactory(title="Perceuse à percussion")
    status, _headers, body = get(base)
    assert status == 200
    # A query no other test asked: nginx keeps anonymous pages for 30 s.
    status, _headers, body = get(base + f"listings/?q=perceuse&nonce={uuid.uuid4().hex}")
    assert status == 200
    assert "Perceuse à percussion" in body.decode()
    # The page links the hashed name collectstatic wrote; nginx serves it for a year.
    css = re.search(r'/static/css/partage\.[0-9a-f]{12}\.css', body.decode()).group(0)
    status, headers, _body = get(base.rstrip("/") + css)
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Not from Django: its responses carry the Content Security Policy, nginx's do not.
    assert "Content-Security-Policy" not in headers
    status, headers, _body = get(base + "static/css/partage.css")
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=3600"


def test_alice_logs_in_through_nginx(topology):
    alice = _member(email="alice@example.com", display_name="Alice")
    key = _log_in(topology["url"], alice.email)
    status, _headers, body = get(
        topology["url"] + "messages/", headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={key}"}
    )
    assert status == 200  # not the redirect to the log-in page
    assert 'action="/accounts/logout/"' in body.decode()
    status, headers, _body = get(topology["url"] + "messages/")
    assert status == 302  # the same page without the session: signed out


def test_anonymous_pages_are_served_from_nginx_cache_and_members_pages_never(topology):
    base = topology["url"]
    ListingFactory(title="Tondeuse thermique")
    url = base + f"listings/?q=tondeuse&nonce={uuid.uuid4().hex}"  # unseen by other tests
    first, second = get(url), get(url)
    assert (first[0], second[0]) == (200, 200)
    assert [first[1]["X-Cache-Status"], second[1]["X-Cache-Status"]] == ["MISS", "HIT"]
    assert first[2] == second[2] and "Tondeuse thermique" in second[2].decode()

    # A member's request never reads the cache, and their page is never stored.
    alice = _member(email="alice-cache@example.com", display_name="Alice")
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={_log_in(base, alice.email)}"}
    status, headers, body = get(url, headers=cookie)
    assert status == 200 and headers["X-Cache-Status"] == "BYPASS"
    assert 'action="/accounts/logout/"' in body.decode()
    status, headers, body = get(url)
    assert headers["X-Cache-Status"] == "HIT" and 'action="/accounts/logout/"' not in body.decode()
    members_only = base + f"messages/?nonce={uuid.uuid4().hex}"
    for _ in range(2):
        assert get(members_only, headers=cookie)[1]["X-Cache-Status"] == "BYPASS"
    assert get(members_only)[0] == 302  # the anonymous visitor is asked to log in

    # A page that sets a cookie (the log-in form's CSRF token) is never stored.
    login = base + f"accounts/login/?nonce={uuid.uuid4().hex}"
    assert [get(login)[1]["X-Cache-Status"] for _ in range(2)] == ["MISS", "MISS"]


def _socket_connects(run_dir: Path, index: int, path: str) -> int:
    log = run_dir / f"ws-{index}.access.log"
    text = log.read_text() if log.exists() else ""
    return sum(1 for line in text.splitlines() if "WSCONNECT " in line and path in line)


def test_a_chat_message_crosses_between_the_two_websocket_workers(topology):
    alice = _member(email="alice@example.com", display_name="Alice")
    bob = _member(email="bob@example.com", display_name="Bob")
    drill = ListingFactory(owner=alice, title="Cordless drill")
    chat = conversations.conversation_for_listing(listing=drill, member=bob)
    alice_key = _log_in(topology["url"], alice.email)
    bob_key = session_cookie(signed_in_client(bob))
    path = f"/ws/conversations/{chat.pk}/"
    run_dir = Path(topology["run_dir"])

    async def scenario():
        bob_ws = await _open(topology["port"], path, bob_key)
        alice_ws = await _open(topology["port"], path, alice_key)
        try:
            await alice_ws.send(json.dumps({
                "type": "message", "body": "Is it free on Saturday?",
                "client_id": str(uuid.uuid4()),
            }))
            ack = await _next_of_type(alice_ws, "ack")
            received = await _next_of_type(bob_ws, "message")
            assert received["id"] == ack["id"]
            assert received["body"] == "Is it free on Saturday?"
        finally:
            await alice_ws.close()
            await bob_ws.close()

    asyncio.run(scenario())
    # One socket on each worker: the message crossed through Redis. (daphne writes its
    # access log line as the socket is accepted.)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        counts = [_socket_connects(run_dir, index, path) for index in (0, 1)]
        if counts == [1, 1]:
            break
        time.sleep(0.1)
    assert counts == [1, 1]
    assert chat.messages.get().body == "Is it free on Saturday?"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(child) for child in text)
    return children


def _post_big(port: int, size: int, sent: int) -> tuple[int, float]:
    """Declare a body of `size` bytes, send up to `sent` of them, read the status."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /listings/new/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/octet-stream\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode()
        )
        chunk = b"\0" * 65536
        try:
            for _n in range(sent // len(chunk)):
                sock.sendall(chunk)
            sock.sendall(b"\0" * (sent % len(chunk)))
        except OSError:
            pass  # the server answered and closed: what we wanted
        head = sock.recv(4096).decode(errors="replace")
    return int(head.split()[1]), time.monotonic() - started


def test_too_large_bodies_are_refused_by_nginx_and_by_django(topology):
    limit = settings.REQUEST_MAX_BYTES
    workers = _children(topology["pids"]["http"])
    assert len(workers) >= 1
    before = {pid: _rss_kb(pid) for pid in workers}
    # 100 MB at nginx: 413 at once, from the header alone.
    status, seconds = _post_big(topology["port"], 100 * 1024 * 1024, 1024 * 1024)
    assert status == 413
    assert seconds < 1
    error_log = (Path(topology["run_dir"]) / "nginx-error.log").read_text()
    assert "client intended to send too large body" in error_log
    # Straight at a WSGI worker (nginx bypassed): Django refuses before reading it.
    status, _seconds = _post_big(topology["http_port"], 100 * 1024 * 1024, 8 * 1024 * 1024)
    assert status == 413
    for pid, rss in before.items():
        assert _rss_kb(pid) - rss < limit // 1024, "a worker grew by more than the limit"
    # Just under the limit still reaches Django (and gets its CSRF refusal, not 413).
    status, _seconds = _post_big(topology["port"], limit - 1024, limit - 1024)
    assert status == 403
