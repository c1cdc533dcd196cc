"""The channel layer across a Redis restart, on a redis-server of the test's own
(tests/faults/harness.py): a publish right after the restart goes out instead of
failing on a connection the old server closed, and the layer's subscriptions come
back by themselves."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer

from config.redis_layer import redis_layer_hosts
from tests.faults.harness import RedisServer

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs redis-server")


@pytest.fixture
def redis():
    folder = Path(tempfile.mkdtemp(prefix="partage-layer-"))
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _subscriber(url: str, channel: str):
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    return client, pubsub


def _layer(url: str) -> RedisPubSubChannelLayer:
    return RedisPubSubChannelLayer(hosts=redis_layer_hosts(url), prefix="layer-test")


def test_the_first_publish_after_a_restart_goes_out(redis):
    async def scenario():
        layer = _layer(redis.url)
        try:
            await layer.group_send("chat", {"type": "chat.message", "n": 1})  # opens the pool
            await asyncio.to_thread(redis.restart, 0.2)
            client, pubsub = await _subscriber(redis.url, "layer-test__group__chat")
            try:
                # The pooled connection is the one the old server closed.
                await layer.group_send("chat", {"type": "chat.message", "n": 2})
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
                assert message is not None
            finally:
                await pubsub.aclose()
                await client.aclose()
        finally:
            await layer.flush()

    asyncio.run(scenario())


def test_a_group_receives_again_after_a_restart(redis):
    async def scenario():
        receiver, sender = _layer(redis.url), _layer(redis.url)
        try:
            channel = await receiver.new_channel()
            await receiver.group_add("chat", channel)
            await sender.group_send("chat", {"type": "chat.message", "n": 0})
            assert (await asyncio.wait_for(receiver.receive(channel), 2))["n"] == 0
            await asyncio.to_thread(redis.restart, 0.2)
            # Live events sent while the subscription is down are lost (Pub/Sub keeps
            # nothing); it must come back within a few seconds without help. One
            # receive waits throughout: a cancelled receive unsubscribes its channel.
            receiving = asyncio.ensure_future(receiver.receive(channel))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            n = 0
            while not receiving.done() and loop.time() < deadline:
                n += 1
                await sender.group_send("chat", {"type": "chat.message", "n": n})
                await asyncio.wait({receiving}, timeout=0.2)
            assert receiving.done(), "no message through the layer 5 s after the restart"
            assert receiving.result()["n"] >= 1
        finally:
            await receiver.flush()
            await sender.flush()

    asyncio.run(scenario())


def test_the_sockets_that_asked_are_told_when_the_subscription_is_back(redis):
    from config.redis_layer import RESYNC_GROUP, ResyncingPubSubChannelLayer

    async def scenario():
        layer = ResyncingPubSubChannelLayer(hosts=redis_layer_hosts(redis.url), prefix="resync")
        asked, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add(RESYNC_GROUP, asked)
        await layer.group_add("chat", other)
        try:
            before = time.monotonic()
            await asyncio.to_thread(redis.restart, 0.5)
            news = await asyncio.wait_for(layer.receive(asked), 5)
            assert news["type"] == "layer.resubscribed"
            assert before <= news["broken_at"] <= time.monotonic()
            # A socket that did not ask hears nothing (it has no handler for it).
            receiving = asyncio.ensure_future(layer.receive(other))
            await asyncio.wait({receiving}, timeout=0.5)
            assert not receiving.done()
            receiving.cancel()
        finally:
            await layer.flush()

    asyncio.run(scenario())
