"""Django's Redis cache, with one connection pool per process instead of one per cache
object.

Django keeps a cache object per thread and per asyncio context (CacheHandler), and
each RedisCache builds its own pool: under ASGI every request and every websocket got
a fresh pool, hence a fresh TCP connection to Redis, its handshake and redis-py's
driver-info lookup in the installed packages' metadata (Django ticket #35651). In the
chat that was the first cache call of every socket's messages (the rate limit): with
500 sockets on PostgreSQL and Redis it made p99 latency seconds (bench/chat.py,
py-spy). redis-py's pools are safe to share between threads and reset after a fork.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], object] = {}
_pools_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (self._servers[index], repr(sorted(self._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(
                        self._servers[index], **self._pool_options
                    )
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient

    def incr_in_window(self, key: str, window: int, version=None) -> int:
        """Count one more in a counter that starts at the first count and expires
        `window` seconds after it; return the new count. One round trip (add() then
        incr() take two), and atomic: the counter cannot expire between creating and
        counting, which would leave it counting forever without an expiry."""
        key = self.make_and_validate_key(key, version=version)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=True)
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        return pipe.execute()[1]
