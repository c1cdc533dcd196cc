"""Sockets that may have missed live events in a channel-layer outage reconnect.

The Redis Pub/Sub layer delivers at most once: events published while Redis restarts,
or while this worker's subscription reconnects, are gone. The database has every
message and pages resume from the last id they have when they reconnect, but a socket
that stayed open through the outage never reconnects: its member would not see the
messages sent meanwhile until they reload. So each worker watches its layer: every
WATCH_EVERY seconds a round trip through it (publish to a channel of its own, read it
back) and Redis's run_id (a restarted server has a new one). After a failed round trip
or a new run_id, as soon as a round trip succeeds again, every socket of this worker is
closed with 4500: the pages reconnect (with jitter), resume, and resend what is pending.

Guarantees: nothing runs without REDIS_URL (one process, no outage to miss); the watch
never raises into a socket; sockets are closed once per outage, not once per failed
probe.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

WATCH_EVERY = 0.5  # seconds between probes
PROBE_TIMEOUT = 1.0

# A probe returns what identifies the layer's server now (its run_id) or raises.
Probe = Callable[[], Awaitable[str]]


class LayerWatch:
    def __init__(self, probe: Probe, close_code: int) -> None:
        self.probe = probe
        self.close_code = close_code
        self.sockets: weakref.WeakSet = weakref.WeakSet()
        self.server_id: str | None = None
        self.outage = False
        self.task: asyncio.Task | None = None

    def watch(self, socket: Any) -> None:
        """Follow this socket (held weakly) and start watching on this loop."""
        self.sockets.add(socket)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def check(self) -> bool:
        """One probe; True when it closed the sockets (the layer came back)."""
        try:
            server_id = await asyncio.wait_for(self.probe(), PROBE_TIMEOUT)
        except Exception as error:
            if not self.outage:
                logger.warning("channel layer unreachable, sockets will reconnect when it "
                               "is back: %s", type(error).__name__)
            self.outage = True
            return False
        restarted = self.server_id is not None and server_id != self.server_id
        self.server_id = server_id
        if not (self.outage or restarted):
            return False
        self.outage = False
        await self.close_all()
        return True

    async def close_all(self) -> None:
        sockets = list(self.sockets)
        logger.warning("channel layer back: closing %d sockets so they resume", len(sockets))
        for socket in sockets:
            try:
                await socket.close(code=self.close_code)
            except Exception as error:  # a socket closing anyway
                logger.info("socket not closed: %s", error)

    async def _run(self) -> None:
        while self.sockets:
            await self.check()
            await asyncio.sleep(WATCH_EVERY)
        self.task = None


def redis_probe(layer: Any, url: str) -> Probe:
    """A round trip through `layer` on a channel of this process, then Redis's run_id."""
    import redis.asyncio as aioredis

    state: dict[str, Any] = {}

    async def round_trip() -> None:
        if "channel" not in state:
            state["channel"] = await layer.new_channel("layerwatch.")
        token = uuid.uuid4().hex
        await layer.send(state["channel"], {"type": "layerwatch.ping", "token": token})
        while True:
            message = await layer.receive(state["channel"])
            if message.get("token") == token:  # an older ping may arrive first
                return

    async def probe() -> str:
        if "client" not in state:
            state["client"] = aioredis.Redis.from_url(url, socket_timeout=PROBE_TIMEOUT,
                                                      socket_connect_timeout=PROBE_TIMEOUT)
        try:
            await asyncio.wait_for(round_trip(), PROBE_TIMEOUT)
        except BaseException:
            # A channel whose receive was cancelled may stay half-unsubscribed in the
            # layer's books: the next probe subscribes a fresh one, as a new socket would.
            state.pop("channel", None)
            raise
        info = await state["client"].info("server")
        return str(info.get("run_id", ""))

    return probe


_watches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def watch_socket(socket: Any, close_code: int) -> None:
    """Watch the channel layer for the socket's worker (with REDIS_URL only)."""
    if not settings.REDIS_URL or socket.channel_layer is None:
        return
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None:
        watch = _watches[loop] = LayerWatch(
            redis_probe(socket.channel_layer, settings.REDIS_URL), close_code)
    watch.watch(socket)
