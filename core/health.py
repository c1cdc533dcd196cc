"""Checks behind /healthz (readiness: can this process reach its database and its
channel layer right now?) and /healthz/live (liveness: the process answers).

Readiness must keep answering while the site is saturated: a probe that waited for a
pooled connection behind 64 busy requests, or was refused a new one, would have the
load balancer pull healthy workers exactly at the peak. So the database check uses a
connection of its own, one per process, opened once and kept (HealthConnection), and
concurrent probes take turns on it rather than opening more.
"""

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT_SECONDS = 2.0
# A probe against a database that does not answer gives up after this long.
DATABASE_CONNECT_TIMEOUT_SECONDS = 2


class HealthConnection:
    """One database connection per process, for health probes only: outside the pool
    (it never waits for a busy one), persistent (it never needs a fresh connection
    under load), shared by every thread under a lock. After an error it is closed, and
    the next probe opens it again: a database that came back is seen at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wrapper = None

    def _create(self):
        default = connections[DEFAULT_DB_ALIAS]
        settings_dict = {**default.settings_dict}
        options = {**settings_dict.get("OPTIONS", {})}
        options.pop("pool", None)
        if default.vendor == "postgresql":
            options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
        settings_dict.update(OPTIONS=options, CONN_MAX_AGE=None, CONN_HEALTH_CHECKS=False)
        # Same alias: the backend looks its own alias up in `connections` here and there;
        # without the pool option it never touches the pool of that name.
        wrapper = type(default)(settings_dict, alias=DEFAULT_DB_ALIAS)
        # Used from whichever thread serves the probe; the lock keeps it to one at once.
        wrapper.inc_thread_sharing()
        return wrapper

    @contextlib.contextmanager
    def cursor(self) -> Iterator:
        with self._lock:
            if self._wrapper is None:
                self._wrapper = self._create()
            try:
                with self._wrapper.cursor() as cursor:
                    yield cursor
            except Exception:
                self.close()
                raise

    def close(self) -> None:
        if self._wrapper is not None:
            with contextlib.suppress(Exception):
                self._wrapper.close()
            self._wrapper = None


connection = HealthConnection()


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any driver error means "unreachable" to a probe
        logger.warning("healthz: database unreachable: %s", error)
        return "unreachable"
    return "ok"


async def _round_trip(layer) -> None:
    channel = await layer.new_channel("healthz.")
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "healthz.ping", "token": token})
    message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned another message")


def check_channel_layer() -> str:
    """Send a message to a fresh channel and read it back, within a short timeout."""
    layer = get_channel_layer()
    if layer is None:
        return "unconfigured"

    async def probe() -> None:
        await asyncio.wait_for(_round_trip(layer), CHANNEL_LAYER_TIMEOUT_SECONDS)

    try:
        async_to_sync(probe)()
    except Exception as error:
        logger.warning("healthz: channel layer unreachable: %r", error)
        return "unreachable"
    return "ok"


def health_report() -> dict[str, str]:
    return {"database": check_database(), "channel_layer": check_channel_layer()}
