"""Chat over websockets: latency and rate of the real chat consumer beside a bare echo
consumer, on the same daphne server(s), in the same run. Prints one JSON document.

    .venv/bin/python bench/chat.py --clients 100
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/partage_bench \\
      REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/chat.py --clients 500

What it does:
1. Data, through the services: N members in N/2 pairs, one listing per pair and the
   conversation between the two (messaging.conversations); a signed-in session each.
   Without DATABASE_URL everything lives in a throwaway SQLite file.
2. Starts daphne on bench/asgi_echo.py (config.asgi plus /bench/echo/): one worker, or
   two with REDIS_URL (the Redis channel layer between them). Each pair is split across
   the workers, so with two workers every message crosses between processes.
3. Echo phase: N clients on /bench/echo/, each sends M frames one after the other (the
   next when the previous came back). Rate = frames echoed per second.
4. Relay phase: the same clients and frames as the chat phase, on /bench/relay/<pair>/
   (acknowledged and broadcast through the channel layer, no database, no rules): the
   ceiling of the chat's protocol on this server.
5. Chat phase: the N members on /ws/conversations/<id>/, each sends M messages one after
   the other (the next once the server acknowledged the stored message).
   Latency = from the sender's send() to the peer receiving the broadcast (both clients
   live in this process, so one clock). Rate = messages delivered to peers per second.
6. Loss check: every message sent must be stored (counted in the database by
   client_id) and delivered to the peer exactly once.
`--interval S` paces each client (a pause between messages, first message at a random
moment within the first interval) to measure latency below saturation; the default 0
measures the saturated rate, where latency is mostly queueing (Little's law).
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
# bench/http.py would hide the standard library's `http` package (urllib, Django and
# websockets import it): run as a script, this folder comes first on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# -- data (Django in this process) -------------------------------------------------------


def setup_django(sqlite_path: str | None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sqlite_path:
        os.environ["SQLITE_PATH"] = sqlite_path
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_pairs(n_pairs: int, run_id: str) -> list[dict]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from listings.models import Category, Kind, Listing, Terms
    from members.models import Member
    from messaging import conversations

    category = Category.objects.get(slug="power-tools")
    members = Member.objects.bulk_create([
        Member(email=f"bench-{run_id}-{i}@example.com", display_name=f"Bench {i}",
               password="!unusable")
        for i in range(n_pairs * 2)
    ])
    listings = Listing.objects.bulk_create([
        Listing(owner=members[2 * i], kind=Kind.ITEM, terms=Terms.LEND, category=category,
                title=f"Bench drill {i}", description="For the chat benchmark.")
        for i in range(n_pairs)
    ])
    sessions = {}
    for member in members:
        session = SessionStore()
        session[SESSION_KEY] = str(member.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = member.get_session_auth_hash()
        session.create()
        sessions[member.pk] = session.session_key
    pairs = []
    for i, listing in enumerate(listings):
        owner, asker = members[2 * i], members[2 * i + 1]
        conversation = conversations.conversation_for_listing(listing=listing, member=asker)
        pairs.append({"conversation": conversation.pk,
                      "a": (owner.pk, sessions[owner.pk]),
                      "b": (asker.pk, sessions[asker.pk])})
    return pairs


def stored_count(conversation_ids: list[int], client_ids: set[str]) -> int:
    from messaging.models import Message

    stored = Message.objects.filter(conversation_id__in=conversation_ids).values_list(
        "client_id", flat=True
    )
    return sum(1 for value in stored if str(value) in client_ids)


def cleanup(run_id: str) -> None:
    from members.models import Member

    Member.objects.filter(email__startswith=f"bench-{run_id}-").delete()


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_workers(count: int, env: dict, log_file=None) -> list[tuple[subprocess.Popen, int]]:
    """`log_file`: where the workers' errors go (--server-log), else nowhere."""
    workers = []
    for _ in range(count):
        port = free_port()
        process = subprocess.Popen(
            # Hundreds of handshakes queue for the database at once: daphne's 5 s
            # default connect timeout would drop them before the server is slow.
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
             "--websocket_connect_timeout", "120", "bench.asgi_echo:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
        )
        workers.append((process, port))
    deadline = time.monotonic() + 30
    for process, port in workers:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"daphne on {port} exited")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"daphne on {port} not ready") from None
                time.sleep(0.2)
    return workers


def stop_workers(workers) -> None:
    for process, _ in workers:
        process.terminate()
    for process, _ in workers:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# -- clients ------------------------------------------------------------------------------


async def open_all(specs: list[tuple[int, str, str | None]]):
    """Open one socket per (port, path, session key), 50 handshakes at a time."""
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(50)

    async def one(port, path, key):
        headers = {"Cookie": f"sessionid={key}"} if key else {}
        async with gate:
            return await connect(f"ws://127.0.0.1:{port}{path}", origin=f"http://127.0.0.1:{port}",
                                 additional_headers=headers, open_timeout=60,
                                 max_queue=None, ping_interval=None)

    return await asyncio.gather(*(one(*spec) for spec in specs))


async def echo_phase(ports: list[int], clients: int, messages: int, interval: float) -> dict:
    sockets = await open_all([(ports[i % len(ports)], "/bench/echo/", None)
                              for i in range(clients)])
    latencies: list[float] = []
    payload = json.dumps({"type": "message", "body": "x" * 40, "client_id": str(uuid.uuid4())})

    async def run(ws):
        if interval:
            await asyncio.sleep(random.uniform(0, interval))
        for _ in range(messages):
            start = time.perf_counter()
            await ws.send(payload)
            await ws.recv()
            latencies.append(time.perf_counter() - start)
            if interval:
                await asyncio.sleep(interval)

    started = time.perf_counter()
    await asyncio.gather(*(run(ws) for ws in sockets))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for ws in sockets))
    return {
        "messages": len(latencies),
        "seconds": round(elapsed, 3),
        "msg_per_s": round(len(latencies) / elapsed, 1),
        "rtt_ms_p50": round(percentile(latencies, 50) * 1000, 2),
        "rtt_ms_p99": round(percentile(latencies, 99) * 1000, 2),
    }


def chat_path(pair: dict) -> str:
    return f"/ws/conversations/{pair['conversation']}/"


def relay_path(pair: dict) -> str:
    return f"/bench/relay/{pair['conversation']}/"


async def chat_phase(ports: list[int], pairs: list[dict], messages: int, interval: float,
                     drain_seconds: float, path_of=chat_path) -> dict:
    """The chat consumer (or, with path_of=relay_path, the relay: the same frames)."""
    specs, owners = [], []
    for pair in pairs:
        path = path_of(pair)
        # The two members of a pair sit on different workers when there are two.
        for index, side in enumerate(("a", "b")):
            member_id, key = pair[side]
            specs.append((ports[index % len(ports)], path, key))
            owners.append(member_id)
    sockets = await open_all(specs)
    sent_at: dict[str, float] = {}
    delivered: dict[str, int] = {}
    latencies: list[float] = []
    errors: list[dict] = []
    acks: dict[str, asyncio.Future] = {}
    loop = asyncio.get_running_loop()

    async def reader(ws, me: int):
        try:
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    future = acks.pop(frame.get("client_id"), None)
                    if future and not future.done():
                        future.set_result(frame["id"])
                elif kind == "message" and frame.get("sender") != me:
                    client_id = frame.get("client_id")
                    if client_id in sent_at:
                        delivered[client_id] = delivered.get(client_id, 0) + 1
                        latencies.append(time.perf_counter() - sent_at[client_id])
                elif kind == "error":
                    errors.append(frame)
                    future = acks.pop(frame.get("client_id"), None)
                    if future and not future.done():
                        future.set_result(None)
        except Exception:
            pass

    readers = [asyncio.create_task(reader(ws, me)) for ws, me in zip(sockets, owners, strict=True)]

    async def writer(ws, me: int):
        if interval:
            # Paced clients start spread over one interval, as independent people
            # would, rather than all in the same millisecond.
            await asyncio.sleep(random.uniform(0, interval))
        for n in range(messages):
            client_id = str(uuid.uuid4())
            future = loop.create_future()
            acks[client_id] = future
            sent_at[client_id] = time.perf_counter()
            # "sender" is for the relay, which knows nobody; the chat ignores it.
            await ws.send(json.dumps({"type": "message", "body": f"bench message {n}",
                                      "client_id": client_id, "sender": me}))
            await asyncio.wait_for(future, 600)
            if interval:
                await asyncio.sleep(interval)

    started = time.perf_counter()
    await asyncio.gather(*(writer(ws, me) for ws, me in zip(sockets, owners, strict=True)))
    # Deliveries still in flight after the last ack.
    deadline = time.perf_counter() + drain_seconds
    while len(delivered) < len(sent_at) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for ws in sockets))
    for task in readers:
        task.cancel()
    return {
        "sent": len(sent_at),
        "delivered": sum(delivered.values()),
        "delivered_twice": sum(1 for n in delivered.values() if n > 1),
        "not_delivered": len(sent_at) - len(delivered),
        "errors": len(errors),
        "seconds": round(elapsed, 3),
        "msg_per_s": round(len(delivered) / elapsed, 1),
        "latency_ms_p50": round(percentile(latencies, 50) * 1000, 2),
        "latency_ms_p99": round(percentile(latencies, 99) * 1000, 2),
        "latency_ms_mean": round(statistics.fmean(latencies) * 1000, 2) if latencies else 0,
        "_client_ids": set(sent_at),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="websocket clients (even)")
    parser.add_argument("--messages", type=int, default=20, help="messages per client")
    parser.add_argument("--interval", type=float, default=0.0,
                        help="pause between a client's messages, seconds (0: flat out)")
    parser.add_argument("--server-log", default="", help="append the workers' stderr to this file")
    parser.add_argument("--drain", type=float, default=60.0,
                        help="seconds to wait for deliveries still in flight after the last ack")
    parser.add_argument("--workers", type=int, default=None,
                        help="daphne processes (default: 2 with REDIS_URL, else 1)")
    args = parser.parse_args()
    clients = max(2, args.clients - args.clients % 2)
    redis = bool(os.environ.get("REDIS_URL"))
    workers_count = args.workers or (2 if redis else 1)
    if workers_count > 1 and not redis:
        raise SystemExit("Two workers need REDIS_URL (the in-memory layer is per process).")

    tmp = None
    sqlite_path = None
    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.TemporaryDirectory()
        sqlite_path = str(Path(tmp.name) / "chat-bench.sqlite3")
    setup_django(sqlite_path)
    run_id = uuid.uuid4().hex[:8]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
           "STATIC_MANIFEST": "false"}
    if sqlite_path:
        env["SQLITE_PATH"] = sqlite_path
    if redis:
        env.setdefault("REDIS_PREFIX", f"bench{run_id}")
        os.environ.setdefault("REDIS_PREFIX", env["REDIS_PREFIX"])

    log(f"creating {clients // 2} pairs…")
    pairs = make_pairs(clients // 2, run_id)
    from django.db import connection

    connection.close()
    log(f"starting {workers_count} daphne worker(s)…")
    server_log = open(args.server_log, "ab") if args.server_log else subprocess.DEVNULL  # noqa: SIM115
    workers = start_workers(workers_count, env, server_log)
    ports = [port for _, port in workers]
    try:
        log("echo phase…")
        echo = asyncio.run(echo_phase(ports, clients, args.messages, args.interval))
        log("relay phase…")
        relay = asyncio.run(chat_phase(ports, pairs, args.messages, args.interval,
                                       drain_seconds=args.drain, path_of=relay_path))
        relay.pop("_client_ids")
        log("chat phase…")
        chat = asyncio.run(chat_phase(ports, pairs, args.messages, args.interval,
                                      drain_seconds=args.drain))
    finally:
        stop_workers(workers)
    client_ids = chat.pop("_client_ids")
    stored = stored_count([p["conversation"] for p in pairs], client_ids)
    lost = chat["sent"] - stored + chat["not_delivered"]
    result = {
        "benchmark": "chat",
        "database": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite",
        "channel_layer": "redis" if redis else "in-memory",
        "workers": workers_count,
        "clients": clients,
        "messages_per_client": args.messages,
        "interval_s": args.interval,
        "latency": "sender's send() to the peer receiving the broadcast",
        "echo": echo,
        "relay": relay,
        "chat": {**chat, "stored": stored},
        "ratio_chat_to_echo_rate": round(chat["msg_per_s"] / echo["msg_per_s"], 3)
        if echo["msg_per_s"] else None,
        # The protocol's own ceiling (ack + broadcast through the layer, no database)
        # and how much of it the chat keeps.
        "ratio_relay_to_echo_rate": round(relay["msg_per_s"] / echo["msg_per_s"], 3)
        if echo["msg_per_s"] else None,
        "ratio_chat_to_relay_rate": round(chat["msg_per_s"] / relay["msg_per_s"], 3)
        if relay["msg_per_s"] else None,
        "lost": lost,
        "targets": {
            "p99_under_100ms": chat["latency_ms_p99"] < 100,
            "at_least_half_echo_rate": bool(echo["msg_per_s"])
            and chat["msg_per_s"] >= echo["msg_per_s"] / 2,
            "no_loss": lost == 0 and chat["delivered_twice"] == 0,
        },
    }
    cleanup(run_id)
    print(json.dumps(result, indent=2))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
