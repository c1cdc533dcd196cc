"""Private services and chat clients for fault tests (issue 15, "faults survived").

Everything here runs as real processes on loopback, in a temporary folder, on free
ports, so a test may stop and restart them without touching the shared PostgreSQL
(5432) and Redis (6379) other runs use:

- RedisServer: its own redis-server, nothing persisted;
- PostgresCluster: its own initdb cluster (as the postgres user when run as root,
  since initdb refuses root), fsync off;
- DaphneWorker: one `python -m daphne` websocket worker on those services, in its own
  process group so SIGKILL takes it down like a crashed machine would;
- ChatClient: one member's browser tab, as static/js/chat.js should behave: keeps each
  message pending until its ack, treats a late ack or a closed socket as a failure,
  reconnects (to its own worker, or the other if that one is down), resumes from the
  last id it has and resends what is pending with the same client_id. It counts every
  frame it receives raw, so a double delivery shows even though a page would dedupe it.

`run_fault_scenario()` is the whole scenario of tests/faults/test_faults.py and returns
its figures; `python -m tests.faults.harness` prints them as one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SESSION_COOKIE = "sessionid"

# A message without its ack this long is a failure, as static/js/chat.js treats it
# (ACK_TIMEOUT_MS there). Unlike the page, this client does not wait for one ack before
# sending the next: several in flight also test that ids keep the order of sending.
ACK_TIMEOUT = 5.0
# One message per member this often. The server allows 20 per 10 s per member
# (messaging.conversations.RATE_LIMIT): faster would measure the rate limit, not the
# faults. Resends after a reconnect still make short bursts above it.
SEND_EVERY = 0.6
# After an error frame for one of its messages, the client waits this long, then
# resends everything pending, in order (the "Not sent – retry" button, pressed).
RETRY_AFTER = 1.0


def missing_tools() -> list[str]:
    """What the fault harness needs and this machine lacks."""
    missing = [tool for tool in ("redis-server",) if shutil.which(tool) is None]
    missing += [str(PG_BIN / tool) for tool in ("initdb", "pg_ctl", "postgres")
                if not (PG_BIN / tool).exists()]
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _kill_group(process: subprocess.Popen | None, sig: int = signal.SIGKILL) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


class RedisServer:
    """A redis-server of our own: no RDB, no AOF, so a restart starts empty (as a
    replaced Redis would); the Pub/Sub layer keeps nothing there anyway."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = folder / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder),
             "--logfile", str(self.log), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        _wait_for_port(self.port, 10)

    def stop(self) -> None:
        # SIGTERM: Redis closes its clients' connections, as when it is restarted.
        _kill_group(self.process, signal.SIGTERM)
        _kill_group(self.process)
        self.process = None

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


class PostgresCluster:
    """An initdb cluster of our own in `folder`, on a free port, listening on loopback
    and on a unix socket in the same folder. As root it runs as the `postgres` user
    (initdb and postgres refuse root), so the folder is handed to that user."""

    def __init__(self, folder: Path, database: str = "partage_faults") -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.database = database
        self.log = folder / "postgres.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(folder, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True,
                                timeout=timeout, cwd=self.folder)
        if result.returncode:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}"
                               f"{_tail(self.log)}")

    def initdb(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

    def start(self) -> None:
        # fsync off: nothing here must survive a power cut, and the restarts stay fast.
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1"
                   f" -c unix_socket_directories={self.folder} -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off"
                   " -c max_connections=60")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "30", "start")

    def restart(self) -> None:
        # -m fast: every session is ended at once, as a failover or an upgrade would.
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-m", "fast", "-w", "-t", "30", "restart")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname=self.database) as conn:
            return conn.execute(sql, params).fetchall()

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "-t", "20", "stop", timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            # Whatever happened, the postmaster must not outlive the test.
            with contextlib.suppress(OSError, ValueError):
                pid = int((self.data / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)


def service_env(*, database_url: str, redis_url: str, prefix: str = "faults") -> dict[str, str]:
    """The environment of a production-like process on the private services: the
    caller's own DATABASE_URL / REDIS_URL (the shared services) never leak in."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "SQLITE_PATH",
                          "DJANGO_ALLOW_ASYNC_UNSAFE", "SOCKET_DB_THREADS"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
        "DEBUG": "false",
        "STATIC_MANIFEST": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


# Run by `manage.py shell -c` on the private database: two members, a conversation
# between them (Bob asks about Alice's drill), and a signed-in session each.
_SETUP = """
import json
from django.conf import settings
from django.test import Client
from messaging import conversations
from tests.factories import ListingFactory, MemberFactory

def session_key(member):
    client = Client()
    client.force_login(member)
    return client.cookies[settings.SESSION_COOKIE_NAME].value

alice = MemberFactory(display_name="Alice")
bob = MemberFactory(display_name="Bob")
drill = ListingFactory(owner=alice, title="Cordless drill")
chat = conversations.conversation_for_listing(listing=drill, member=bob)
print("FAULTS-SETUP " + json.dumps({
    "conversation": chat.pk,
    "members": {"alice": [alice.pk, session_key(alice)], "bob": [bob.pk, session_key(bob)]},
}))
"""


def seed_conversation(env: dict[str, str]) -> dict[str, Any]:
    out = manage(env, "shell", "-c", _SETUP)
    line = next(line for line in out.splitlines() if line.startswith("FAULTS-SETUP "))
    return json.loads(line.removeprefix("FAULTS-SETUP "))


class DaphneWorker:
    """One websocket worker. Ready once /healthz answers 200 (its database and its
    channel layer both reachable)."""

    def __init__(self, folder: Path, env: dict[str, str], name: str) -> None:
        self.port = free_port()
        self.env = env
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "config.asgi:application"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def wait_ready(self, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"daphne on {self.port} exited:\n{_tail(self.log)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                            timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"daphne on {self.port} not ready:\n{_tail(self.log)}")
            time.sleep(0.2)

    def kill(self) -> None:
        _kill_group(self.process, signal.SIGKILL)

    def stop(self) -> None:
        _kill_group(self.process, signal.SIGTERM)
        _kill_group(self.process)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


# --- The chat client -------------------------------------------------------------------


@dataclass
class Outgoing:
    seq: int
    client_id: str
    body: str
    phase: str
    sent_at: float | None = None  # the last time it went out
    sends: int = 0
    acked_id: int | None = None
    acks: int = 0
    ack_ids: set = field(default_factory=set)
    errors: list = field(default_factory=list)


@dataclass
class Delivery:
    id: int
    sender: int
    client_id: str | None
    via: str  # "live" or "resume"
    generation: int


class ChatClient:
    """One member's chat page, reconnecting and resending as chat.js should."""

    def __init__(self, name: str, member_id: int, session_key: str, path: str,
                 ports: list[int]) -> None:
        self.name = name
        self.member_id = member_id
        self.session_key = session_key
        self.path = path
        self.ports = ports  # the worker it prefers first
        self.ws: Any = None
        self.generation = 0
        self.port_in_use: int | None = None
        self.last_id = 0
        self.phase = "warmup"
        self.outgoing: list[Outgoing] = []
        self.by_client_id: dict[str, Outgoing] = {}
        self.deliveries: list[Delivery] = []
        self.reconnects = 0
        self.reconnect_reasons: Counter = Counter()
        self.reconnect_log: list[tuple[str, str]] = []  # (phase, reason)
        self.resumes: list[tuple[str, int]] = []  # (phase, last_id asked for)
        self.connect_failures = 0
        self.error_codes: Counter = Counter()
        self.other_errors: asyncio.Queue = asyncio.Queue()
        self.close_codes: Counter = Counter()
        self.resuming = False
        self.retry_at: float | None = None
        self.generating = True
        self._dead = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self._tasks: list[asyncio.Task] = []
        self._seq = 0
        self.poison_results: list[dict[str, Any]] = []

    # Bookkeeping ----------------------------------------------------------------------

    @property
    def pending(self) -> list[Outgoing]:
        return [m for m in self.outgoing if m.acked_id is None]

    def connected(self) -> bool:
        return self.ws is not None and not self._dead.is_set()

    def new_message(self) -> Outgoing:
        self._seq += 1
        message = Outgoing(seq=self._seq, client_id=str(uuid.uuid4()),
                           body=f"{self.name} #{self._seq} ({self.phase})", phase=self.phase)
        self.outgoing.append(message)
        self.by_client_id[message.client_id] = message
        return message

    # The socket -----------------------------------------------------------------------

    async def _open(self, port: int) -> Any:
        from websockets.asyncio.client import connect

        return await connect(
            f"ws://127.0.0.1:{port}{self.path}", origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": f"{SESSION_COOKIE}={self.session_key}"},
            open_timeout=3, close_timeout=1, ping_interval=None, max_size=2**20,
        )

    async def connect(self, deadline: float) -> None:
        """Open a socket to the first worker that takes it, resume, resend pending."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            port = self.ports[attempt % len(self.ports)]
            try:
                ws = await self._open(port)
                break
            except Exception:
                self.connect_failures += 1
                attempt += 1
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(min(0.2 * attempt, 1.0))
        self.ws = ws
        self.port_in_use = port
        self.generation += 1
        self._dead = asyncio.Event()
        self._reader = asyncio.create_task(self._read(ws, self.generation))
        self.resuming = True
        self.resumes.append((self.phase, self.last_id))
        await self._send({"type": "resume", "last_id": self.last_id})
        await self.resend_pending()

    async def _send(self, frame: dict | str) -> bool:
        if not self.connected():
            return False
        try:
            await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        except Exception:
            self._dead.set()
            return False
        return True

    async def send_message(self, message: Outgoing) -> None:
        if await self._send({"type": "message", "body": message.body,
                             "client_id": message.client_id}):
            message.sent_at = time.monotonic()
            message.sends += 1

    async def resend_pending(self) -> None:
        self.retry_at = None
        for message in self.pending:
            await self.send_message(message)

    async def drop_socket(self, reason: str) -> None:
        self.reconnect_reasons[reason] += 1
        self.reconnect_log.append((self.phase, reason))
        ws, self.ws = self.ws, None
        self._dead.set()
        if self._reader is not None:
            self._reader.cancel()
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1)
            with contextlib.suppress(Exception):
                ws.transport.abort()

    async def _read(self, ws: Any, generation: int) -> None:
        try:
            async for raw in ws:
                self._on_frame(json.loads(raw), generation)
        except asyncio.CancelledError:
            raise
        except Exception:
            pass
        finally:
            if ws.close_code is not None:
                self.close_codes[ws.close_code] += 1
            if generation == self.generation:
                self._dead.set()

    def _on_frame(self, frame: dict, generation: int) -> None:
        kind = frame.get("type")
        if kind == "message":
            if frame.get("sender") != self.member_id:
                self.deliveries.append(Delivery(frame["id"], frame["sender"],
                                                frame.get("client_id"),
                                                "resume" if self.resuming else "live",
                                                generation))
            self.last_id = max(self.last_id, frame["id"])
        elif kind == "ack":
            message = self.by_client_id.get(frame.get("client_id"))
            if message is None:
                return
            message.acks += 1
            message.ack_ids.add(frame["id"])
            if message.acked_id is None:
                message.acked_id = frame["id"]
            self.last_id = max(self.last_id, frame["id"])
        elif kind == "resumed":
            self.resuming = False
        elif kind == "error":
            self.error_codes[frame.get("code")] += 1
            message = self.by_client_id.get(frame.get("client_id"))
            if message is not None and message.acked_id is None:
                message.errors.append(frame.get("code"))
                # "Not sent – retry": pressed a second later, for all that is pending,
                # in order, so ids keep the order they were typed in.
                self.retry_at = time.monotonic() + RETRY_AFTER
            else:
                self.other_errors.put_nowait(frame)

    # The page's life -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Type a message every SEND_EVERY seconds while generating; keep the socket
        healthy until `stop`."""
        loop = asyncio.get_running_loop()
        await self.connect(loop.time() + 15)
        next_message = loop.time()
        while not stop.is_set():
            now = time.monotonic()
            if not self.connected():
                await self.reconnect("closed", loop)
                continue
            late = [m for m in self.pending if m.sent_at is not None
                    and now - m.sent_at > ACK_TIMEOUT]
            if late:
                # Open but silent: the frozen socket of issue 15. Treat it as closed.
                await self.drop_socket("ack_timeout")
                await self.reconnect(None, loop)
                continue
            if self.retry_at is not None and now >= self.retry_at:
                await self.resend_pending()
            if self.generating and loop.time() >= next_message:
                next_message += SEND_EVERY
                message = self.new_message()
                if self.retry_at is None:  # while a retry waits, new ones wait too
                    await self.send_message(message)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._dead.wait(), 0.05)
        await self.drop_socket("end")

    async def reconnect(self, reason: str | None, loop: asyncio.AbstractEventLoop) -> None:
        if reason:
            await self.drop_socket(reason)
        self.reconnects += 1
        # Bounded: a worker or two down for longer than this is a failed run.
        await self.connect(loop.time() + 20)

    async def poison(self, name: str, text: str, wait: float = ACK_TIMEOUT) -> dict[str, Any]:
        """Send one bad frame on the current socket, then one good message; record
        whether the bad one got an error frame and the good one its ack on the same
        socket (not after the ack timeout made the client reconnect)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (not self.connected() or self.pending) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        while not self.other_errors.empty():
            self.other_errors.get_nowait()
        generation = self.generation
        await self._send(text)
        error = None
        with contextlib.suppress(asyncio.TimeoutError):
            error = await asyncio.wait_for(self.other_errors.get(), wait)
        follow_up = self.new_message()
        await self.send_message(follow_up)
        end = loop.time() + wait
        while follow_up.acked_id is None and loop.time() < end:
            await asyncio.sleep(0.05)
        result = {
            "poison": name,
            "error_code": error.get("code") if error else None,
            "next_acked_same_socket": follow_up.acked_id is not None
            and self.generation == generation,
            "socket_survived": self.generation == generation and self.connected(),
        }
        self.poison_results.append(result)
        return result


def _poisons() -> list[tuple[str, str]]:
    def frame(body_json: str) -> str:
        return ('{"type": "message", "body": ' + body_json
                + f', "client_id": "{uuid.uuid4()}"}}')

    return [
        # A lone surrogate: valid JSON, which PostgreSQL refuses to store.
        ("lone_surrogate", frame('"\\ud800"')),
        # ~3 KB that makes json.loads recurse 1,500 levels (RecursionError).
        ("deep_nesting", frame("[" * 1500 + "]" * 1500)),
        ("wrong_type_body", frame("123")),
        ("nul_body", frame('"\\u0000"')),
    ]


# --- The scenario ----------------------------------------------------------------------


async def _chat_through_faults(*, cluster: PostgresCluster, redis: RedisServer,
                               workers: list[DaphneWorker], seeded: dict[str, Any],
                               timeline: list[dict[str, Any]],
                               grace: float) -> tuple[ChatClient, ChatClient, float]:
    path = f"/ws/conversations/{seeded['conversation']}/"
    ports = [w.port for w in workers]
    alice_id, alice_key = seeded["members"]["alice"]
    bob_id, bob_key = seeded["members"]["bob"]
    alice = ChatClient("alice", alice_id, alice_key, path, ports)
    bob = ChatClient("bob", bob_id, bob_key, path, list(reversed(ports)))
    clients = [alice, bob]
    stop = asyncio.Event()
    runs = [asyncio.create_task(c.run(stop)) for c in clients]
    started = time.monotonic()

    def phase(name: str) -> None:
        for client in clients:
            client.phase = name
        timeline.append({"phase": name, "at": round(time.monotonic() - started, 1)})

    async def chat_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for run in runs:
                if run.done():
                    run.result()  # a client that gave up fails the scenario here
            await asyncio.sleep(0.1)

    try:
        phase("warmup")
        await chat_for(3)
        phase("redis_restart")
        await asyncio.to_thread(redis.restart, 1.0)
        await chat_for(5)
        phase("postgres_restart")
        await asyncio.to_thread(cluster.restart)
        await chat_for(5)
        phase("worker_kill")
        workers[1].kill()  # bob's worker
        await chat_for(1)
        workers[1].start()
        await asyncio.to_thread(workers[1].wait_ready)
        await chat_for(3)
        phase("poison")
        for name, text in _poisons():
            await alice.poison(name, text)
        await chat_for(1)
        phase("grace")
        for client in clients:
            client.generating = False
        # The faults are over: every pending message must be acked, and everything
        # acked delivered to the other member, within the grace period.
        end = time.monotonic() + grace
        while time.monotonic() < end:
            acked_ids = {m.acked_id for c in clients for m in c.outgoing}
            delivered = {d.id for c in clients for d in c.deliveries}
            if not any(c.pending for c in clients) and acked_ids - {None} <= delivered:
                break
            await chat_for(0.2)
        grace_used = round(time.monotonic() - end + grace, 1)
    finally:
        stop.set()
        for run in runs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(run, 5)
            run.cancel()
    return alice, bob, grace_used


def _figures(alice: ChatClient, bob: ChatClient, stored_rows: list[tuple],
             grace_used: float) -> dict[str, Any]:
    """The counts, per sender and per phase, from what the clients saw and what the
    database holds: stored rows are (id, sender_id, client_id)."""
    stored: dict[str, list[int]] = {}
    for message_id, _sender, client_id in stored_rows:
        stored.setdefault(str(client_id), []).append(message_id)
    report: dict[str, Any] = {"phases": {}, "senders": {}}
    problems: list[str] = []
    for sender, receiver in ((alice, bob), (bob, alice)):
        raw: Counter = Counter(d.id for d in receiver.deliveries)
        live_twice = Counter(d.id for d in receiver.deliveries if d.via == "live")
        acked = [m for m in sender.outgoing if m.acked_id is not None]
        totals = Counter()
        for message in sender.outgoing:
            rows = stored.get(message.client_id, [])
            figures = report["phases"].setdefault(message.phase, Counter())
            figures["sent"] += 1
            totals["sent"] += 1
            if message.acked_id is None:
                figures["not_acked"] += 1
                totals["not_acked"] += 1
                if rows:
                    figures["stored_not_acked"] += 1
                    totals["stored_not_acked"] += 1
                continue
            figures["acked"] += 1
            totals["acked"] += 1
            if len(rows) == 1:
                figures["stored"] += 1
                totals["stored"] += 1
            elif not rows:
                problems.append(f"{sender.name} #{message.seq} acked as {message.acked_id} "
                                "but not stored")
                figures["acked_not_stored"] += 1
                totals["acked_not_stored"] += 1
            else:
                problems.append(f"{sender.name} #{message.seq} stored {len(rows)} times: {rows}")
                figures["stored_twice"] += 1
                totals["stored_twice"] += 1
            if len(message.ack_ids) > 1 or (rows and message.acked_id not in rows):
                problems.append(f"{sender.name} #{message.seq} acks {sorted(message.ack_ids)}"
                                f" against stored {rows}")
            times = raw[message.acked_id]
            if times == 0:
                figures["lost"] += 1
                totals["lost"] += 1
                problems.append(f"{sender.name} #{message.seq} (id {message.acked_id}, "
                                f"{message.phase}) never reached {receiver.name}, who "
                                f"resumed from {[last for _p, last in receiver.resumes]}")
            else:
                figures["delivered"] += 1
                totals["delivered"] += 1
            if times > 1:
                # Live twice is a bug; once live and once in the resume that followed
                # a reconnect is the window between joining the group and reading the
                # missed messages: counted apart, reported, not hidden.
                kind = "duplicates_live" if live_twice[message.acked_id] > 1 else "duplicates_resume"
                figures[kind] += 1
                totals[kind] += 1
        ids = [m.acked_id for m in acked]
        out_of_order = sum(1 for a, b in zip(ids, ids[1:], strict=False) if b <= a)
        if out_of_order:
            problems.append(f"{sender.name}: {out_of_order} acked ids out of send order")
        report["senders"][sender.name] = {
            **totals, "out_of_order": out_of_order, "reconnects": sender.reconnects,
            "reconnect_reasons": dict(sender.reconnect_reasons),
            "connect_failures": sender.connect_failures,
            "error_frames": dict(sender.error_codes),
            "close_codes": {str(k): v for k, v in sender.close_codes.items()},
            "resends": sum(max(0, m.sends - 1) for m in sender.outgoing),
        }
    known = {m.client_id for c in (alice, bob) for m in c.outgoing}
    strays = [cid for cid in stored if cid not in known]
    if strays:
        # The follow-ups of the poison frames are known; a poison itself stored is not.
        problems.append(f"{len(strays)} stored messages no client sent as normal: {strays[:3]}")
    for client in (alice, bob):
        for phase, reason in client.reconnect_log:
            if reason != "end":
                report["phases"].setdefault(phase, Counter())[f"reconnects_{reason}"] += 1
    report["phases"] = {name: dict(c) for name, c in report["phases"].items()}
    report["poison"] = alice.poison_results
    report["grace_seconds_used"] = grace_used
    report["problems"] = problems
    return report


def _errors_logged(log: Path) -> dict[str, int]:
    """The exceptions a worker's log ends tracebacks with, counted by type."""
    found: Counter = Counter()
    in_traceback = False
    for line in _tail(log, 10**9).splitlines():
        if line.startswith("Traceback"):
            in_traceback = True
        elif (in_traceback and line and not line.startswith((" ", "\t"))
              and not line.startswith(("During handling", "The above exception"))):
            found[line.split(":", 1)[0]] += 1
            in_traceback = False
    return dict(found)


def run_fault_scenario(grace: float = 20.0) -> dict[str, Any]:
    """Start everything, chat through the four faults, count, stop everything."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"missing: {', '.join(missing)}")
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="partage-faults-"))
    redis = RedisServer(folder)
    cluster = PostgresCluster(folder)
    workers: list[DaphneWorker] = []
    timeline: list[dict[str, Any]] = []
    try:
        redis.start()
        cluster.initdb()
        cluster.start()
        cluster.create_database()
        env = service_env(database_url=cluster.url, redis_url=redis.url)
        manage(env, "migrate", "--noinput")
        seeded = seed_conversation(env)
        workers = [DaphneWorker(folder, env, "worker1"), DaphneWorker(folder, env, "worker2")]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        setup_seconds = round(time.monotonic() - began, 1)
        alice, bob, grace_used = asyncio.run(_chat_through_faults(
            cluster=cluster, redis=redis, workers=workers, seeded=seeded,
            timeline=timeline, grace=grace,
        ))
        rows = cluster.query(
            "SELECT id, sender_id, client_id FROM messaging_message"
            " WHERE conversation_id = %s ORDER BY id", (seeded["conversation"],))
        report = _figures(alice, bob, rows, grace_used)
        report["timeline"] = timeline
        report["setup_seconds"] = setup_seconds
        report["workers_alive"] = [w.alive() for w in workers]
        report["worker_errors"] = {w.log.name: _errors_logged(w.log) for w in workers}
        report["seconds"] = round(time.monotonic() - began, 1)
        report["logs"] = {w.log.name: _tail(w.log, 1500) for w in workers}
        return report
    finally:
        for worker in workers:
            worker.stop()
        cluster.stop()
        redis.stop()
        if os.environ.get("FAULTS_KEEP"):  # the logs, to read after a failed run
            print(f"fault harness files kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    figures = run_fault_scenario()
    figures.pop("logs", None)
    print(json.dumps(figures))
