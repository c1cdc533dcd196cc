"""Real threads for the PostgreSQL race tests: each runs in its own connection, outside
the test's transaction, like concurrent requests of several web workers."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def in_own_connection(work: Callable):
    """Run work() in a new thread, hence its own connection outside this test's
    transaction; return its result or raise its exception."""
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # handed back to the caller below
            result["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def in_parallel(works: list[Callable], timeout: float = 120) -> list:
    """Start every work at once, each in its own thread and connection (they wait for
    each other at a barrier); return what each returned or the exception it raised, in
    the order of `works`."""
    barrier = threading.Barrier(len(works))
    results: list = [None] * len(works)

    def run(index: int, work: Callable) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work()
        except Exception as error:  # an outcome the test looks at
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def delete_conversations_of(member_pks: list[int]) -> None:
    """Delete the conversations these members took part in, for a race test's clean-up:
    deleting a listing only unlinks its conversations (they are history), so they would
    outlive the test and show up in later ones."""
    from messaging.models import Conversation

    Conversation.objects.filter(participants__member__in=member_pks).delete()
