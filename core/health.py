"""Liveness checks behind /healthz: can this process reach its database and its
channel layer right now?"""

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT_SECONDS = 2.0


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
