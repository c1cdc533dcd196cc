"""Rate limits for what members post: listings, exchange requests, reports, messages.

allauth limits sign-up, log-in and password resets itself (ACCOUNT_RATE_LIMITS); this
covers the rest with the same idea: a count per member and window in the cache, which
is Redis in production, so the limit holds across every worker process. A member over
the limit gets the 429 page (or, over a websocket, an error frame) and nothing is done.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def parse_rate(rate: str) -> tuple[int, int]:
    """"20/10s", "30/h", "5/m" -> (count, seconds)."""
    count, _, period = rate.partition("/")
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number = period[:-1] or "1"
    return int(count), int(number) * units[period[-1]]


def consume(action: str, who: str) -> int | None:
    """Count one `action` by `who`. Returns None when allowed, or the seconds until the
    window ends when the limit (settings.PARTAGE_RATE_LIMITS[action]) is exceeded."""
    rate = settings.PARTAGE_RATE_LIMITS.get(action)
    if not rate:
        return None
    limit, seconds = parse_rate(rate)
    now = time.time()
    window = int(now // seconds)
    key = f"ratelimit:{action}:{who}:{window}"
    # add() then incr() is atomic on Redis and in the local-memory cache.
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=seconds + 1)
        count = 1
    if count > limit:
        return max(1, int((window + 1) * seconds - now))
    return None


def too_many_requests(request: HttpRequest, retry_after: int | None = None) -> HttpResponse:
    response = render(request, "429.html", {"retry_after": retry_after}, status=429)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def limit_posts(action: str) -> Callable:
    """View decorator: count the signed-in member's POSTs as `action`; over the limit,
    answer 429 without calling the view."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST":
                who = str(request.user.pk) if request.user.is_authenticated else (
                    request.META.get("REMOTE_ADDR", "")
                )
                retry_after = consume(action, who)
                if retry_after is not None:
                    return too_many_requests(request, retry_after)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
