"""What every websocket of a member shares: who may connect, the groups it joins, the
live events and server-side closes it relays, and error frames for bad input.

The chat and notification consumers subclass MemberSocket. The session authenticates
at connect only, so the server pushes a close (messaging.live) when a member signs out,
changes their password or is suspended.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import queue
import re
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from messaging import live

logger = logging.getLogger(__name__)

# Larger frames are refused with an error frame before any parsing: a chat body is at
# most 4,000 characters, so 16 KB leaves room for JSON escapes and metadata.
MAX_FRAME_BYTES = 16 * 1024

# Close codes. A websocket close code is 1000 or 3000–4999 (daphne's library raises on
# any other, 1011 included, and the socket then stays open with nothing behind it), so
# every close here uses the application's own range:
# 4001 signed out elsewhere (messaging.live.CLOSE_SIGNED_OUT): do not reconnect;
# 4003 not (or no longer) allowed: do not reconnect;
# 4500 the server could not go on with this socket: reconnect, resume, resend.
CLOSE_UNAUTHORISED = 4003
CLOSE_SERVER_ERROR = 4500


def member_may_connect(user: Any) -> bool:
    """A member with a live, active account in good standing (not suspended or banned)."""
    return bool(user is not None and user.is_authenticated and user.may_act)


class DatabaseThreads(Executor):
    """A few threads, each with its own database connection, for the database work of
    sockets: with PostgreSQL two messages are stored side by side.

    Channels' database_sync_to_async is thread-sensitive: every call of a worker
    process runs in one thread, one after the other, behind the HTTP views too. Socket
    work does not need that (each call is a self-contained transaction), so it runs
    here. With SQLite one thread is right: writes serialise on the file anyway, and a
    second writer would sleep in SQLite's busy handler (up to 100 ms at a time) rather
    than queue here. With PostgreSQL two: more threads wait on the GIL rather than on
    the database, and starve the event loop that delivers the messages (bench/chat.py,
    500 paced clients: p99 145 ms with one thread, 200 with two, 334 with four; flat
    out two stored the most). More processes, not threads, use more cores. A thread idle for `idle_close` seconds closes its connections, so
    an idle worker holds none; otherwise they live as CONN_MAX_AGE says (see
    _tidy_connections)."""

    def __init__(self, size: int, idle_close: float = 10.0) -> None:
        self.size = max(1, size)
        self.idle_close = idle_close
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._work.put((future, fn, args, kwargs))
        if len(self._threads) < self.size:
            # All at the first call: a thread costs little until it opens a connection,
            # which it does on its first job.
            with self._lock:
                while len(self._threads) < self.size:
                    thread = threading.Thread(target=self._run, daemon=True,
                                              name=f"socket-db-{len(self._threads)}")
                    self._threads.append(thread)
                    thread.start()
        return future

    def _run(self) -> None:
        while True:
            try:
                item = self._work.get(timeout=self.idle_close)
            except queue.Empty:
                connections.close_all()
                item = self._work.get()
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # handed to the awaiting coroutine
                future.set_exception(error)
            else:
                future.set_result(result)

    def close_connections(self, timeout: float = 10.0) -> None:
        """Close every thread's database connections now (before a test database is
        dropped, say). Each thread takes exactly one of the closing jobs: they all wait
        at a barrier until every thread holds one."""
        with self._lock:
            count = len(self._threads)
        if not count:
            return
        barrier = threading.Barrier(count)

        def close() -> None:
            barrier.wait(timeout)
            connections.close_all()

        for future in [self.submit(close) for _n in range(count)]:
            future.result(timeout)


def _default_threads() -> int:
    engine = settings.DATABASES["default"]["ENGINE"]
    return 1 if engine.endswith("sqlite3") else 2


socket_db_threads = DatabaseThreads(settings.SOCKET_DB_THREADS or _default_threads())


def _tidy_connections() -> None:
    """After each call in a socket thread: what close_old_connections does, except that
    CONN_MAX_AGE=0 ("close at the end of each request") does not apply, since socket
    work has no request to end: a connection reopened per message cost more than the
    message (SQLite runs its PRAGMAs again). Nor is a health check forced before the
    next call (a round trip per message on PostgreSQL); a broken connection shows as an
    error, is closed here, and the next call opens a new one."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.in_atomic_block or conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"]:
            conn.close()
        elif conn.settings_dict["OPTIONS"].get("pool"):
            # Pooled (PostgreSQL): closing hands the connection back to the pool, so a
            # socket thread never keeps one of the process's bounded few between
            # messages; taking it again costs no reconnection.
            conn.close()
        elif conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()
        elif (conn.settings_dict["CONN_MAX_AGE"] and conn.close_at is not None
              and time.monotonic() >= conn.close_at):
            conn.close()


class _SocketDatabaseWork(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _tidy_connections()


def _shared_memory_database() -> bool:
    # The in-memory SQLite database of the test run is shared between connections
    # with table locks that fail at once ("database table is locked") instead of
    # waiting like a file's busy timeout: there, sockets keep Channels' own
    # thread-sensitive calls (seen flaky in the browser tests otherwise).
    connection = connections[DEFAULT_DB_ALIAS]
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def socket_db(func: Callable) -> Callable:
    """`func` made awaitable, run in socket_db_threads (see DatabaseThreads)."""
    if _shared_memory_database():
        return database_sync_to_async(func)
    return _SocketDatabaseWork(func, thread_sensitive=False, executor=socket_db_threads)


# Per event loop, per group: events handed over by database threads, waiting their turn.
_outboxes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The loop holds tasks only weakly: the running senders are kept here.
_senders: set[asyncio.Task] = set()


def layer_send(group: str, message: dict[str, Any]) -> None:
    """Send a channel-layer event to a group from sync code without making the calling
    thread wait for it when a worker's event loop runs (the thread is a database thread
    with more messages to store). Events to one group keep the order of the calls;
    different groups go out side by side (with Redis each send is a few round trips),
    except those of one layer_send_many call, which go out one after the other.
    Elsewhere (a command, a test without a loop) it sends before returning. Never
    raises: live events are extra, and clients resume from the database."""
    layer_send_many([(group, message)])


def layer_send_many(sends: list[tuple[str, dict[str, Any]]]) -> None:
    """layer_send for several (group, event) pairs, in order. Without a running worker
    loop (a view, a command) they all go out in one trip to an event loop, not one
    each: every async_to_sync call starts a loop of its own, which with Redis means new
    connections too."""
    if not sends:
        return
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        try:
            async_to_sync(_group_send_each)(sends)
        except Exception:
            logger.warning("live events to %s not sent", [g for g, _ in sends], exc_info=True)
        return
    try:
        loop.call_soon_threadsafe(_post_each_to_outbox, loop, sends)
    except RuntimeError:  # the loop closed meanwhile
        logger.warning("live events to %s not sent: the event loop closed",
                       [g for g, _ in sends])


async def _group_send_each(sends: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in sends:
        try:
            await _group_send(group, message)
        except Exception:
            logger.warning("live event to %s not sent", group, exc_info=True)


def _post_each_to_outbox(loop: asyncio.AbstractEventLoop, sends: list[tuple[str, dict]]) -> None:
    # One sender task for the groups that had none running, not one each: a message's
    # fan-out (its conversation, its participants' pages) is one job.
    boxes = _outboxes.setdefault(loop, {})
    fresh: list[str] = []
    for group, message in sends:
        waiting = boxes.get(group)
        if waiting is not None:  # its sender is running (or queued) and will take it
            waiting.append(message)
        else:
            boxes[group] = collections.deque([message])
            fresh.append(group)
    if fresh:
        task = loop.create_task(_send_outboxes(boxes, fresh))
        _senders.add(task)
        task.add_done_callback(_senders.discard)


async def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, message)


async def _send_outboxes(boxes: dict[str, collections.deque], groups: list[str]) -> None:
    """Send each group's waiting events in order, the groups one after the other.
    Events added meanwhile to one of these groups are sent too."""
    done = 0
    try:
        for group in groups:
            waiting = boxes[group]
            while waiting:
                try:
                    await _group_send(group, waiting[0])
                except Exception:
                    logger.warning("live event to %s not sent", group, exc_info=True)
                waiting.popleft()
            del boxes[group]
            done += 1
    finally:
        # Cancelled (the worker stops): the groups not finished must not keep a box
        # that later events would wait in forever. (A finished group's name may
        # already hold another sender's new box: left alone.)
        for group in groups[done:]:
            boxes.pop(group, None)


def describe_error(error: BaseException) -> str:
    """One line for the log: the exception's type and its first line."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


# No frame of this protocol nests deeper than this: {"type": ..., "body": "..."}.
MAX_FRAME_DEPTH = 8
# A bracket, or a whole string (to its end if unterminated: every match succeeds, so the
# scan stays linear whatever the text).
_BRACKETS = re.compile(r'[\[\]{}]|"(?:[^"\\]++|\\.)*+"?')


def _too_deep(text: str) -> bool:
    """Whether the JSON text opens more than MAX_FRAME_DEPTH arrays or objects inside
    each other. Checked before parsing: the parser recurses once per level, and 1,500
    levels cost it a RecursionError after most of a second's work. Strings are skipped
    whole, so brackets typed in a message don't count."""
    if text.count("[") + text.count("{") <= MAX_FRAME_DEPTH:
        return False
    depth = 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_FRAME_DEPTH:
                return True
        elif token in "]}":
            depth -= 1
    return False


class RefusedSocket(AsyncJsonWebsocketConsumer):
    """Any /ws/ path no consumer serves: the handshake is refused (HTTP 403), quietly,
    instead of the router's "No route found" traceback and a 500."""

    async def connect(self) -> None:
        await self.close(code=CLOSE_UNAUTHORISED)


class MemberSocket(AsyncJsonWebsocketConsumer):
    """A socket of one signed-in member, in their member and session groups."""

    member_id: int | None = None
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        try:
            await self._connect()
        except Exception as error:
            # Before the accept a close refuses the handshake (403), after it the page
            # reconnects; either way one line in the log, not a traceback per attempt.
            logger.error("%s: socket not opened: %s", self.scope.get("path"),
                         describe_error(error))
            await self.close(code=CLOSE_SERVER_ERROR)

    async def _connect(self) -> None:
        user = self.scope.get("user")
        if not member_may_connect(user):
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        if not await self.may_connect(user):
            await self.close(code=CLOSE_UNAUTHORISED)
            return
        self.member_id = user.pk
        await self.join(live.member_group(user.pk))
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None)
        if session_key:
            await self.join(live.session_group(session_key))
        await self.accept()
        await self.on_accepted()

    async def dispatch(self, message: dict) -> None:
        # Channels' own dispatch first hops to the thread-sensitive thread to close
        # stale database connections, before every frame and every group event: three
        # or more hops per chat message, for nothing, since these sockets touch the
        # database only through database_sync_to_async or socket_db, which tidy
        # connections around each call themselves.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            logger.warning("%s: no handler for %r", type(self).__name__, message.get("type"))
            return
        if message["type"] in {"websocket.connect", "websocket.disconnect"}:
            await handler(message)
            return
        try:
            await handler(message)
        except Exception as error:
            # One frame or event that fails costs that frame only: the socket goes on
            # (an exception here would reach daphne, which closes with 1011 and
            # leaves the sending side dead).
            logger.error("%s: %s failed: %s", type(self).__name__, message["type"],
                         describe_error(error))
            if message["type"] == "websocket.receive":
                await self.send_error("server_error",
                                      _("Something went wrong. Try again in a moment."))

    async def may_connect(self, user: Any) -> bool:
        """Subclasses check what else the socket needs (e.g. being a participant)."""
        return True

    async def on_accepted(self) -> None:
        """Subclasses send what a fresh socket needs (counts, missed messages)."""

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    # Frames from the browser ----------------------------------------------------------

    async def websocket_receive(self, message: dict) -> None:
        text = message.get("text")
        if text is None:
            await self.send_error("bad_frame", _("Only text frames are accepted."))
            return
        if len(text.encode()) > MAX_FRAME_BYTES:
            await self.send_error("too_large", _("This message is too large."))
            return
        if _too_deep(text):
            await self.send_error("bad_frame", _("A frame is a JSON object with a type."))
            return
        try:
            content = json.loads(text)
        except (ValueError, RecursionError):
            await self.send_error("bad_json", _("This frame is not valid JSON."))
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("bad_frame", _("A frame is a JSON object with a type."))
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict, **kwargs) -> None:
        await self.send_error("unknown_type", _("Unknown frame type."))

    async def send_error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    # Events from the channel layer (messaging.live) ----------------------------------

    async def live_event(self, event: dict) -> None:
        await self.send_json(event["payload"])

    async def live_close(self, event: dict) -> None:
        await self.close(code=event.get("code", live.CLOSE_SIGNED_OUT))
