"""Every view that accepts a POST is rate limited, or says why it needs no limit.

The sweep walks the URL configuration itself (like the access sweep of object URLs), so
a view added tomorrow is covered the day it is added. For each URL pattern:

- a view marked by @limit_posts("name") must really refuse a POST over its limit: with
  every limit at zero, a signed-in member's POST gets 429 (the limit is counted before
  the view runs, so a sample id that names nothing is enough);
- a view marked by @posts_not_limited("reason") has said why (the reason is shown);
- third-party views are exempt by where they come from, each with a reason below;
- any other view must refuse a POST: a signed-in member's POST gets 405. A view that
  answers anything else accepts POSTs without a limit, and fails the sweep.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

# Views of other packages, by the module they come from, and why they need no limit of ours.
THIRD_PARTY = {
    "allauth.": "allauth limits its own forms (ACCOUNT_RATE_LIMITS: sign-up, log-in, "
                "failed log-ins, password resets, email changes, reauthentication)",
    "django.contrib.admin.": "staff only, behind two-factor authentication, every change logged",
    "django.views.i18n": "Django's set_language writes only the visitor's language cookie",
}
# URL namespaces exempt as a whole, and why.
NAMESPACES = {
    "admin": "the admin site: staff only, behind two-factor authentication; the "
             "moderators' own pages live there and every action is logged",
}

# Sample values for the converters of a route: an id that names nothing, a word.
SAMPLES = {"int": "999999", "str": "x", "slug": "x", "path": "x", "uuid":
           "00000000-0000-0000-0000-000000000000"}
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<\w+>[^)]*\)")


@dataclass(frozen=True)
class Route:
    name: str
    url: str
    view: Callable


def _sample(pattern) -> str:
    text = str(pattern)
    if isinstance(pattern, RoutePattern):
        return _ROUTE_PARAM.sub(lambda m: SAMPLES[m["converter"] or "str"], text)
    assert isinstance(pattern, RegexPattern), pattern
    return _REGEX_GROUP.sub("x", text).lstrip("^").rstrip("$").replace("\\", "")


def _walk(patterns, prefix: str = "/", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from _walk(pattern.url_patterns, prefix + _sample(pattern.pattern), full)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or "(unnamed)"
            yield Route(f"{namespace}:{name}" if namespace else name,
                        prefix + _sample(pattern.pattern), pattern.callback)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def _third_party_reason(route: Route) -> str | None:
    if route.name.split(":")[0] in NAMESPACES:
        return NAMESPACES[route.name.split(":")[0]]
    module = getattr(route.view, "__module__", "") or ""
    return next((why for prefix, why in THIRD_PARTY.items() if module.startswith(prefix)), None)


def _limited(route: Route) -> str | None:
    return getattr(route.view, "post_rate_limit", None)


def _exempt(route: Route) -> str | None:
    return getattr(route.view, "post_rate_limit_exempt", None) or _third_party_reason(route)


def own_routes() -> list[Route]:
    return [route for route in all_routes() if _third_party_reason(route) is None]


def _ids(routes: list[Route]) -> list[str]:
    return [f"{route.name} {route.url}" for route in routes]


@pytest.fixture
def member_post(client: Client):
    client.raise_request_exception = False
    client.force_login(MemberFactory())
    return lambda url: client.post(url, {})


def test_the_sweep_sees_the_views_it_must_see():
    """A positive control: the walk finds the writing views this issue was about."""
    names = {route.name: route for route in all_routes()}
    for name in ("moderation:report", "ledger:send", "members:edit", "listings:create-kind",
                 "listings:photos", "reviews:create", "account_login", "admin:index"):
        assert name in names, f"the sweep does not see {name}"
    assert _limited(names["moderation:report"]) == "report"
    assert _limited(names["ledger:send"]) == "send_hours"
    assert _limited(names["members:edit"]) == "profile_edit"


@pytest.mark.parametrize("route", own_routes(), ids=_ids(own_routes()))
def test_every_view_that_takes_a_post_is_limited_or_says_why(route, member_post, settings):
    if _limited(route):
        # Every limit at zero: the first POST is already one too many.
        settings.PARTAGE_RATE_LIMITS = dict.fromkeys(settings.PARTAGE_RATE_LIMITS, "0/h")
        response = member_post(route.url)
        assert response.status_code == 429, (
            f"{route.name} is marked limited ({_limited(route)}) but a POST over the limit "
            f"answered {response.status_code}"
        )
        return
    if _exempt(route):
        return
    status = member_post(route.url).status_code
    assert status == 405, (
        f"POST {route.url} ({route.name}) answered {status}: the view accepts POSTs without "
        "a rate limit. Add @limit_posts(name) with a rate in PARTAGE_RATE_LIMITS, or "
        "@posts_not_limited(reason) if it writes nothing or something else counts it, "
        "or refuse POST (require_safe)."
    )


def test_exempt_views_give_a_real_reason():
    for route in all_routes():
        reason = _exempt(route)
        if reason is not None:
            assert len(reason.split()) >= 3, f"{route.name}: say why, not just {reason!r}"


def test_every_named_limit_has_a_valid_rate():
    from core.ratelimit import parse_rate

    for name, rate in settings.PARTAGE_RATE_LIMITS.items():
        count, seconds = parse_rate(rate)
        assert count > 0 and seconds > 0, name
