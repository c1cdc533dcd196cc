"""The Redis cache shares one connection pool per process (config.cache): a cache call
from a new thread or a new asyncio context, as every request and websocket is, does
not open a new connection to Redis; and its window counter (the chat's rate limit)."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from django.core.cache import cache, caches

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


@pytest.fixture(autouse=True)
def _redis_cache(production_redis_cache):
    pass


def connections_opened() -> int:
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"]).info("stats")[
        "total_connections_received"]


def test_new_contexts_and_threads_reuse_the_processs_connections():
    cache.set("warm-up", 1)  # the pool's first connection
    before = connections_opened()

    async def in_fifty_contexts():
        async def one(n):  # each task is a context of its own, like a socket
            await asyncio.to_thread(lambda: caches["default"].set(f"context-{n}", n, 30))

        await asyncio.gather(*(one(n) for n in range(50)))

    asyncio.run(in_fifty_contexts())
    threads = [threading.Thread(target=lambda n=n: caches["default"].get(f"context-{n}"))
               for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Concurrent calls may each need a connection of the pool (at most a few here, on
    # two cores), never one per context: 71 calls, one counted for this check itself.
    assert connections_opened() - before <= 10
    assert caches["default"].get("context-49") == 49


def test_two_cache_objects_share_one_pool():
    first, second = caches.create_connection("default"), caches.create_connection("default")
    assert first._cache._get_connection_pool(True) is second._cache._get_connection_pool(True)


def test_a_window_counter_counts_from_one_and_expires_with_its_window():
    counts = [cache.incr_in_window("window", 10) for _ in range(3)]
    assert counts == [1, 2, 3]
    ttl = cache._cache.get_client(write=True).ttl(cache.make_and_validate_key("window"))
    assert 0 < ttl <= 10
    cache.delete("window")
    assert cache.incr_in_window("window", 10) == 1
