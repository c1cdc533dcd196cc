"""The single-process channel layer (config.layers): Channels' in-memory layer with its
expiry sweep throttled and group sends put straight into each member's queue."""

from __future__ import annotations

import asyncio

import pytest

from config import layers
from config.layers import ProcessChannelLayer


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_group_send_reaches_every_member_each_with_its_own_copy():
    async def scenario():
        layer = ProcessChannelLayer()
        a, b = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat", a)
        await layer.group_add("chat", b)
        await layer.group_send("chat", {"type": "chat.message", "payload": {"body": "hi"}})
        got_a, got_b = await layer.receive(a), await layer.receive(b)
        got_a["payload"]["body"] = "changed by a"
        return got_a, got_b

    got_a, got_b = run(scenario())
    assert got_b == {"type": "chat.message", "payload": {"body": "hi"}}
    assert got_a["payload"]["body"] == "changed by a"


def test_a_full_channel_is_skipped_and_the_others_still_receive():
    async def scenario():
        layer = ProcessChannelLayer(capacity=1)
        slow, quick = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat", slow)
        await layer.group_add("chat", quick)
        await layer.group_send("chat", {"type": "first"})
        assert (await layer.receive(quick))["type"] == "first"
        await layer.group_send("chat", {"type": "second"})  # slow's queue is full
        return await layer.receive(slow), await layer.receive(quick)

    slow_got, quick_got = run(scenario())
    assert slow_got["type"] == "first" and quick_got["type"] == "second"


def test_a_group_send_to_nobody_does_nothing():
    run(ProcessChannelLayer().group_send("empty", {"type": "x"}))


@pytest.mark.parametrize("clean_every, expired_dropped", [(0.0, True), (3600.0, False)])
def test_expired_messages_are_dropped_when_the_sweep_runs(monkeypatch, clean_every,
                                                         expired_dropped):
    async def scenario():
        layer = ProcessChannelLayer(expiry=0.01)
        stale, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat", stale)
        await layer.group_send("chat", {"type": "old"})  # the first sweep runs here
        await asyncio.sleep(0.05)
        monkeypatch.setattr(layers, "CLEAN_EVERY", clean_every)
        await layer.send(other, {"type": "new"})
        await layer.receive(other)  # sweeps, unless one ran within CLEAN_EVERY
        return stale in layer.channels, stale in layer.groups.get("chat", {})

    still_queued, still_in_group = run(scenario())
    assert still_queued is not expired_dropped
    # As in Channels: a channel whose message expired unread leaves its groups.
    assert still_in_group is not expired_dropped
