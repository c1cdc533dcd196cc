"""Rate limits for what members post: every view that accepts a POST and writes.

allauth limits sign-up, log-in and password resets itself (ACCOUNT_RATE_LIMITS); this
covers the rest with the same idea: a count per member and window in the cache, which
is Redis in production, so the limit holds across every worker process. A member over
the limit gets the 429 page (or, over a websocket, an error frame) and nothing is done.

A view declares its limit with @limit_posts("name"), or says why it needs none with
@posts_not_limited("reason"). Both leave a mark on the view (copied outwards by
functools.wraps through the other decorators), and tests/core/test_post_limits.py walks
the URL configuration: a view that accepts a POST and carries neither mark fails it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
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
    answer 429 without calling the view, so nothing is written. The view is marked
    (`view.post_rate_limit == action`) for the sweep over every URL."""
    if action not in settings.PARTAGE_RATE_LIMITS:
        # A misspelt name would otherwise be a limit that never applies.
        raise ImproperlyConfigured(f"No rate {action!r} in PARTAGE_RATE_LIMITS")

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

        wrapped.post_rate_limit = action
        return wrapped

    return decorator


def posts_not_limited(reason: str) -> Callable:
    """View decorator for a view that accepts POSTs without a limit of its own: it says
    why (another layer counts them, or they write nothing). It changes nothing else."""
    if not reason.strip():
        raise ImproperlyConfigured("posts_not_limited needs a reason")

    def decorator(view: Callable) -> Callable:
        view.post_rate_limit_exempt = reason
        return view

    return decorator
