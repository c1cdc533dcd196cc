"""messaging.sockets.layer_send(_many): live events handed from database threads to
the worker's event loop keep their order per group, and none is stranded."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from messaging.sockets import layer_send, layer_send_many


def _from_a_database_thread(func) -> None:
    """Run `func` as socket database work runs it: in a thread, while the loop runs."""
    return sync_to_async(func, thread_sensitive=False)()


async def _receive_all(layer, channel: str, count: int) -> list[tuple[str, int]]:
    got = []
    for _ in range(count):
        event = await asyncio.wait_for(layer.receive(channel), timeout=5)
        got.append((event["group"], event["n"]))
    return got


def _event(group: str, n: int) -> tuple[str, dict]:
    return group, {"type": "test.event", "group": group, "n": n}


def test_events_keep_their_order_per_group_across_calls_and_batches():
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        for group in ("order-a", "order-b"):
            await layer.group_add(group, channel)

        def send_interleaved():
            layer_send_many([_event("order-a", 1), _event("order-b", 1)])
            layer_send(*_event("order-a", 2))
            layer_send_many([_event("order-b", 2), _event("order-a", 3)])

        await _from_a_database_thread(send_interleaved)
        got = await _receive_all(layer, channel, 5)
        for group in ("order-a", "order-b"):
            await layer.group_discard(group, channel)
        return got

    got = async_to_sync(scenario)()
    assert [n for group, n in got if group == "order-a"] == [1, 2, 3]
    assert [n for group, n in got if group == "order-b"] == [1, 2]


def test_a_group_sent_to_again_after_its_batch_finished_still_gets_the_event():
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("again-a", channel)
        await layer.group_add("again-b", channel)
        got = []
        for n in range(1, 4):
            await _from_a_database_thread(
                lambda n=n: layer_send_many([_event("again-a", n), _event("again-b", n)]))
            got += await _receive_all(layer, channel, 2)
        await layer.group_discard("again-a", channel)
        await layer.group_discard("again-b", channel)
        return got

    got = async_to_sync(scenario)()
    assert sorted(got) == [(g, n) for g in ("again-a", "again-b") for n in (1, 2, 3)]


def test_from_a_thread_without_the_workers_loop_the_events_are_sent_before_it_returns():
    # A management command or a plain thread: no worker loop to hand the events to.
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("no-loop", channel)
        await asyncio.to_thread(layer_send_many, [_event("no-loop", 1), _event("no-loop", 2)])
        got = await _receive_all(layer, channel, 2)
        await layer.group_discard("no-loop", channel)
        return got

    assert async_to_sync(scenario)() == [("no-loop", 1), ("no-loop", 2)]
