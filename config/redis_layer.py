"""The Redis host of the channel layer (settings.CHANNEL_LAYERS with REDIS_URL).

Kept apart from config.layers so settings can import it without importing Channels.
"""

from __future__ import annotations

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


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
