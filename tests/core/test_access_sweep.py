"""Every URL that names an object refuses every other member with 404, whatever the
method.

The sweep walks the URL configuration itself: a new URL with an object id is covered
the day it is added, and one this file does not know fails the suite until someone
says who may use it. For each URL, a stranger (a signed-in member who is neither owner
nor party) must get 404 for GET, POST, PUT, PATCH and DELETE; the rightful member must
not (a positive control, so a wrong id in the table cannot pass as "refused"). A 405 is
accepted only where the rightful member gets the same 405: the method is refused to
everyone, so the answer says nothing about the object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from exchanges.models import BlockedPeriod, LoanExtension, State
from listings import services as listing_services
from messaging.models import Notification
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory, image_upload

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete"]

# URL names anyone signed in may use on someone else's object, and why.
PUBLIC = {
    "members:profile": "public profile",
    "listings:detail": "an active listing is public",
    "exchanges:request": "anyone may ask for an active listing",
    "conversations:listing": "anyone may write to a listing's owner",
    "conversations:wanted-answer": "anyone may answer a wanted post",
    "reviews:member": "published reviews are public",
    "moderation:report": "anyone may report what they see",
}

# URL names outside the sweep: not about a member's object.
NOT_OBJECTS = {
    "account_confirm_email", "account_reset_password_from_key",  # allauth's signed keys
    "listings:create-kind",  # a listing kind, not an object
}


@dataclass
class World:
    alice: object
    bob: object
    mallory: object
    objects: dict


def _names_an_object(pattern: URLPattern) -> bool:
    converters = pattern.pattern.converters.values()
    return any(type(c).__name__ == "IntConverter" for c in converters)


def _pattern_names(patterns, namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from _pattern_names(pattern.url_patterns, full)
        elif isinstance(pattern, URLPattern) and pattern.name and _names_an_object(pattern):
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def object_url_names() -> list[str]:
    names = set(_pattern_names(get_resolver().url_patterns))
    return sorted(name for name in names if not name.startswith("admin:") and name not in NOT_OBJECTS)


@pytest.fixture
def world(db) -> World:
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    mallory = MemberFactory(display_name="Mallory")
    drill = ListingFactory(owner=alice, title="Drill")
    photo = listing_services.photo_add(listing=drill, by=alice, upload=image_upload())
    loan = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
    period = BlockedPeriod.objects.create(
        listing=drill, start_date=timezone.localdate() + timedelta(days=40),
        end_date=timezone.localdate() + timedelta(days=41),
    )
    extension = LoanExtension.objects.create(
        exchange=loan, requested_by=bob, new_end_date=loan.end_date + timedelta(days=2)
    )
    notification = Notification.objects.create(
        member=alice, kind="exchange_requested", dedupe_key="sweep", params={}
    )
    objects = {
        "drill": drill, "photo": photo, "loan": loan, "period": period,
        "extension": extension, "notification": notification,
    }
    for build in EXTRA_BUILDERS:
        objects.update(build(alice, bob, mallory, objects))
    return World(alice, bob, mallory, objects)


# URL name -> (kwargs from the world's objects, who may use it: "alice" or "bob").
Route = tuple[Callable[[dict], dict], str]
ROUTES: dict[str, Route] = {
    "members:profile": (lambda o: {"pk": o["drill"].owner_id}, "alice"),
    "listings:detail": (lambda o: {"pk": o["drill"].pk}, "alice"),
    "listings:edit": (lambda o: {"pk": o["drill"].pk}, "alice"),
    "listings:photos": (lambda o: {"pk": o["drill"].pk}, "alice"),
    "listings:photo-delete": (lambda o: {"pk": o["drill"].pk, "photo_pk": o["photo"].pk}, "alice"),
    "listings:photo-move": (lambda o: {"pk": o["drill"].pk, "photo_pk": o["photo"].pk}, "alice"),
    "listings:status": (lambda o: {"pk": o["drill"].pk}, "alice"),
    "listings:delete": (lambda o: {"pk": o["drill"].pk}, "alice"),
    "exchanges:request": (lambda o: {"listing_pk": o["drill"].pk}, "bob"),
    "exchanges:block": (lambda o: {"listing_pk": o["drill"].pk}, "alice"),
    "exchanges:unblock": (lambda o: {"pk": o["period"].pk}, "alice"),
    "exchanges:detail": (lambda o: {"pk": o["loan"].pk}, "bob"),
    "exchanges:act": (lambda o: {"pk": o["loan"].pk, "action": "complete"}, "alice"),
    "exchanges:extension-request": (lambda o: {"pk": o["loan"].pk}, "bob"),
    "exchanges:extension-accept": (lambda o: {"pk": o["extension"].pk}, "alice"),
    "exchanges:extension-decline": (lambda o: {"pk": o["extension"].pk}, "alice"),
    "exchanges:extension-cancel": (lambda o: {"pk": o["extension"].pk}, "bob"),
    "exchanges:checkout-pay": (lambda o: {"pk": o["loan"].pk}, "bob"),
    "exchanges:checkout-deposit": (lambda o: {"pk": o["loan"].pk}, "bob"),
    "exchanges:checkout-done": (lambda o: {"pk": o["loan"].pk}, "bob"),
    "exchanges:deposit-release": (lambda o: {"pk": o["loan"].pk}, "alice"),
    "exchanges:deposit-claim": (lambda o: {"pk": o["loan"].pk}, "alice"),
    "exchanges:record-time": (lambda o: {"pk": o["loan"].pk}, "alice"),
    "exchanges:confirm-time": (lambda o: {"pk": o["loan"].pk}, "bob"),
    "notifications:open": (lambda o: {"pk": o["notification"].pk}, "alice"),
}

# Builders that add the objects of later apps to the world: (alice, bob, mallory,
# objects so far) -> more objects.
EXTRA_BUILDERS: list[Callable] = []


def _saved_search(alice, bob, mallory, objects) -> dict:
    from listings.models import SavedSearch

    return {"saved_search": SavedSearch.objects.create(owner=alice, name="drill",
                                                       querystring="q=drill")}


EXTRA_BUILDERS.append(_saved_search)
ROUTES["listings:saved-delete"] = (lambda o: {"pk": o["saved_search"].pk}, "alice")


def test_every_object_url_is_in_the_sweep():
    missing = [name for name in object_url_names() if name not in ROUTES]
    assert not missing, (
        f"URLs with an object id that the access sweep does not cover: {missing}. "
        "Add each to ROUTES (and to PUBLIC if anyone may use it, saying why)."
    )


def _call(client, method: str, url: str):
    return getattr(client, method)(url)


@pytest.mark.parametrize("name", object_url_names())
def test_a_stranger_gets_404_for_every_method(name, world, client):
    if name not in ROUTES:
        pytest.fail(f"{name} is not in the sweep's table")
    kwargs_of, rightful = ROUTES[name]
    url = reverse(name, kwargs=kwargs_of(world.objects))

    client.force_login(world.mallory)
    stranger = {method: _call(client, method, url).status_code for method in METHODS}
    client.logout()
    client.force_login(getattr(world, rightful))
    # GET only for the rightful member: a POST would act (and is not what is checked).
    rightful_get = _call(client, "get", url).status_code

    if name in PUBLIC:
        assert stranger["get"] not in (404, 500), f"{name} is public ({PUBLIC[name]})"
        return
    assert rightful_get != 404, f"{name}: the rightful member gets 404 too (bad table entry?)"
    for method, status in stranger.items():
        if status == 405:
            assert _call(client, method, url).status_code == 405, (
                f"{method.upper()} {url}: 405 for the stranger only"
            )
            continue
        assert status == 404, f"{method.upper()} {url} answered {status} to a stranger"


# --- conversations (messaging): Alice's drill, Bob wrote to her about it.
def _conversation_objects(alice, bob, mallory, objects) -> dict:
    from listings.models import Kind, Terms
    from messaging import conversations

    conversation = conversations.conversation_for_listing(listing=objects["drill"], member=bob)
    message = conversations.message_post(conversation=conversation, sender=bob, body="Hi").message
    wanted = ListingFactory(owner=alice, kind=Kind.WANTED, terms=Terms.SELL, title="Wanted")
    return {"conversation": conversation, "chat_message": message, "wanted": wanted}


EXTRA_BUILDERS.append(_conversation_objects)
ROUTES.update({
    "conversations:detail": (lambda o: {"pk": o["conversation"].pk}, "bob"),
    "conversations:send": (lambda o: {"pk": o["conversation"].pk}, "bob"),
    "conversations:block": (lambda o: {"pk": o["conversation"].pk}, "bob"),
    "conversations:unblock": (lambda o: {"pk": o["conversation"].pk}, "bob"),
    "conversations:request-attached": (
        lambda o: {"pk": o["conversation"].pk, "message_pk": o["chat_message"].pk}, "bob"
    ),
    "conversations:exchange": (lambda o: {"exchange_pk": o["loan"].pk}, "bob"),
    "conversations:listing": (lambda o: {"listing_pk": o["drill"].pk}, "bob"),
    "conversations:wanted-answer": (lambda o: {"listing_pk": o["wanted"].pk}, "bob"),
})


# --- devices (members): a browser Alice is signed in on.
def _device(alice, bob, mallory, objects) -> dict:
    from importlib import import_module

    from allauth.usersessions.models import UserSession
    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store.create()
    return {"device": UserSession.objects.create(user=alice, session_key=store.session_key,
                                                 ip="192.0.2.1", user_agent="Firefox")}


EXTRA_BUILDERS.append(_device)
ROUTES["members:device-sign-out"] = (lambda o: {"pk": o["device"].pk}, "alice")


# --- moderation: a warning Alice has not acknowledged yet (made directly, so she is not
# sent to the warning page on every request, which is the middleware's business).
def _warning(alice, bob, mallory, objects) -> dict:
    from moderation.models import Warning

    moderator = MemberFactory(is_staff=True)
    return {"warning": Warning.objects.create(member=alice, reason="Be kind.", issued_by=moderator)}


EXTRA_BUILDERS.append(_warning)
ROUTES["moderation:warning-acknowledge"] = (lambda o: {"pk": o["warning"].pk}, "alice")
ROUTES["moderation:report"] = (lambda o: {"kind": "listing", "pk": o["drill"].pk}, "bob")


# --- moderation: a listing of Alice's that a moderator removed; only she may appeal.
def _removed_listing(alice, bob, mallory, objects) -> dict:
    return {"removed": ListingFactory(owner=alice, title="Removed", status="removed")}


EXTRA_BUILDERS.append(_removed_listing)
ROUTES["moderation:appeal"] = (lambda o: {"kind": "listing", "pk": o["removed"].pk}, "alice")


# --- reviews: two completed loans of Alice's ladder to Bob. Bob reviewed the first
# (sealed: Alice has not written hers); both reviewed the second (published).
def _reviews(alice, bob, mallory, objects) -> dict:
    from reviews import services as reviews

    ladder = ListingFactory(owner=alice, title="Ladder")
    sealed_deal, published_deal = (
        make_exchange(listing=ladder, asker=bob, state=State.COMPLETED,
                      start_date=timezone.localdate() - timedelta(days=d + 3),
                      end_date=timezone.localdate() - timedelta(days=d + 2))
        for d in (0, 10)
    )
    sealed = reviews.review_submit(exchange=sealed_deal, author=bob, rating=4, text="Great ladder.")
    published = reviews.review_submit(exchange=published_deal, author=bob, rating=5, text="Again!")
    reviews.review_submit(exchange=published_deal, author=alice, rating=5, text="Careful borrower.")
    return {"sealed_deal": sealed_deal, "sealed_review": sealed, "published_review": published}


EXTRA_BUILDERS.append(_reviews)
ROUTES.update({
    "reviews:create": (lambda o: {"pk": o["sealed_deal"].pk}, "alice"),
    "reviews:edit": (lambda o: {"pk": o["sealed_review"].pk}, "bob"),
    "reviews:reply": (lambda o: {"pk": o["published_review"].pk}, "alice"),
    "reviews:member": (lambda o: {"pk": o["drill"].owner_id}, "alice"),
})
