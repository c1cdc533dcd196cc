"""The channel layer on Redis (settings.CHANNEL_LAYERS with REDIS_URL): its host
options, and the Pub/Sub layer that says when its subscriptions were broken.

Apart from config.layers: settings import redis_layer_hosts from here, and
channels_redis imports nothing of Channels or Django's settings at import.
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)


def redis_layer_hosts(url: str) -> list[dict]:
    """The layer's host, with a quick retry on a fresh connection.

    channels_redis builds its pool with redis-py's default of no retry: the first
    publish after a Redis restart went out on a pooled connection the old server had
    closed and failed ("Connection closed by server"). That chat message's live event
    was lost although Redis was back, and the receiver, whose socket stayed open, never
    asked for it (tests/faults). With a retry the subscriber's connection also
    reconnects and subscribes again within the failing call, instead of after
    channels_redis's one-second pause. Two retries, at most 0.25 s apart: a Redis that
    is really down still fails fast, and live events are extras (the database is the
    truth)."""
    return [{
        "address": url,
        "retry": Retry(ExponentialBackoff(cap=0.25, base=0.05), 2),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }]


# Sockets that want to hear when this process's Pub/Sub subscriptions were broken and
# are back join this group (messaging.resync); the news never goes through Redis.
RESYNC_GROUP = "layer-resync"
# How long the receiver waits after a failed read before trying again: channels_redis
# waits a second, and every live event published meanwhile is lost.
RECEIVE_RETRY_PAUSE = 0.1


class _ResyncingShard(RedisSingleShardConnection):
    """A shard whose receiver notes when its connection broke and, once a read
    succeeds again (redis-py has reconnected and subscribed again by then), tells the
    local members of RESYNC_GROUP with {"type": "layer.resubscribed", "broken_at"}
    (time.monotonic() of the first failed read): the live events published between
    the two are lost, and only the database can tell which they were."""

    _broken_at: float | None = None

    async def _do_receiving(self) -> None:
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    if self._broken_at is not None:
                        self._announce_resubscribed(self._broken_at)
                        self._broken_at = None
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as error:
                if self._broken_at is None:
                    self._broken_at = time.monotonic()
                    # One line per outage, not a traceback per attempt.
                    logger.warning("channel layer: Pub/Sub connection lost: %r", error)
                await asyncio.sleep(RECEIVE_RETRY_PAUSE)

    def _announce_resubscribed(self, broken_at: float) -> None:
        layer = self.channel_layer
        group = layer._get_group_channel_name(RESYNC_GROUP)
        members = [c for c in layer.groups.get(group, ()) if c in layer.channels]
        logger.warning("channel layer: Pub/Sub back after %.1f s; %d sockets resync",
                       time.monotonic() - broken_at, len(members))
        payload = layer.channel_layer.serialize(
            {"type": "layer.resubscribed", "broken_at": broken_at})
        for channel in members:
            layer.channels[channel].put_nowait(payload)


class _ResyncingLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, hosts=None, **kwargs) -> None:
        super().__init__(*args, hosts=hosts, **kwargs)
        self._shards = [_ResyncingShard(host, self) for host in decode_hosts(hosts)]


class ResyncingPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels_redis's Pub/Sub layer, except that a broken subscription is retried
    every RECEIVE_RETRY_PAUSE instead of every second, and sockets in RESYNC_GROUP
    are told when it is back (see _ResyncingShard)."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _ResyncingLoopLayer(
                *self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer
