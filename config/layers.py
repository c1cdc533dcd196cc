"""The channel layer of a single process (no REDIS_URL: development, tests, a small
install with one worker).

Channels' InMemoryChannelLayer walks every channel and every group to drop expired
messages on each send to a group and each receive. With a few hundred sockets open
that walk cost more than storing the chat message itself (bench/chat.py under py-spy:
11% of the worker's time). Here it runs at most once per CLEAN_EVERY seconds, which
changes nothing anyone sees: a message still expires `expiry` seconds (60) after it
was sent, at most CLEAN_EVERY later, and group memberships after `group_expiry`.

A send to a group also puts the message in each member's queue directly instead of
through a task per member (the puts never wait: a full queue is skipped, as before).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from copy import deepcopy

from channels.layers import InMemoryChannelLayer

CLEAN_EVERY = 1.0


class ProcessChannelLayer(InMemoryChannelLayer):
    _cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_EVERY:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        expires = time.time() + self.expiry
        for channel in list(self.groups.get(group, ())):
            queue = self.channels.setdefault(
                channel, asyncio.Queue(maxsize=self.get_capacity(channel))
            )
            # A copy each, as InMemoryChannelLayer.send makes (a receiver may change
            # what it got); a socket whose queue is full is not keeping up: skipped.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait((expires, deepcopy(message)))
