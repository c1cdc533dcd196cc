"""The layer watch closes a worker's sockets once after a channel-layer outage, so
their pages reconnect and resume what they missed (messaging.layer_watch)."""

from __future__ import annotations

import asyncio
import shutil
import socket as sockets
import subprocess
import tempfile
import time

import pytest

from messaging.layer_watch import LayerWatch, redis_probe


class FakeSocket:
    def __init__(self) -> None:
        self.closed_with: list[int] = []

    async def close(self, code: int) -> None:
        self.closed_with.append(code)


def scripted(*answers):
    """A probe answering each of `answers` in turn: a run_id, or an exception to raise."""
    remaining = list(answers)

    async def probe() -> str:
        answer = remaining.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return probe


def run_checks(watch: LayerWatch, count: int) -> list[bool]:
    async def checks():
        return [await watch.check() for _ in range(count)]

    return asyncio.run(checks())


def test_sockets_are_closed_once_when_the_layer_comes_back():
    watch = LayerWatch(scripted("a", "a", ConnectionError(), ConnectionError(), "a", "a"), 4500)
    one, two = FakeSocket(), FakeSocket()
    watch.sockets.add(one)
    watch.sockets.add(two)
    assert run_checks(watch, 6) == [False, False, False, False, True, False]
    assert one.closed_with == two.closed_with == [4500]


def test_a_restart_between_two_probes_is_caught_by_the_new_run_id():
    watch = LayerWatch(scripted("a", "a", "b", "b"), 4500)
    socket = FakeSocket()
    watch.sockets.add(socket)
    assert run_checks(watch, 4) == [False, False, True, False]
    assert socket.closed_with == [4500]


def test_a_healthy_layer_closes_nothing():
    watch = LayerWatch(scripted(*["a"] * 5), 4500)
    socket = FakeSocket()
    watch.sockets.add(socket)
    assert run_checks(watch, 5) == [False] * 5
    assert socket.closed_with == []


def free_port() -> int:
    with sockets.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_the_redis_probe_sees_a_restarted_redis():
    """Against a Redis of its own (never the shared one): the probe goes through the
    Pub/Sub layer and fails while Redis is down; after the restart the watch closes."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    port = free_port()
    folder = tempfile.mkdtemp()

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with sockets.create_connection(("127.0.0.1", port), timeout=0.2):
                    return process
            except OSError:
                time.sleep(0.05)
        process.kill()
        raise AssertionError("redis-server did not start")

    redis = start()
    url = f"redis://127.0.0.1:{port}/0"
    try:
        async def scenario():
            layer = RedisPubSubChannelLayer(hosts=[url], prefix="watchtest")
            watch = LayerWatch(redis_probe(layer, url), 4500)
            socket = FakeSocket()
            watch.sockets.add(socket)
            results = [await watch.check()]
            redis.terminate()
            redis.wait(10)
            results.append(await watch.check())
            restarted = start()
            try:
                for _ in range(20):  # the layer reconnects within a few probes
                    results.append(await watch.check())
                    if results[-1]:
                        break
                    await asyncio.sleep(0.25)
            finally:
                await layer.flush()
                restarted.terminate()
                restarted.wait(10)
            return results, socket.closed_with

        results, closed = asyncio.run(scenario())
    finally:
        if redis.poll() is None:
            redis.kill()
        shutil.rmtree(folder, ignore_errors=True)
    assert results[0] is False and results[1] is False
    assert results[-1] is True
    assert closed == [4500]
