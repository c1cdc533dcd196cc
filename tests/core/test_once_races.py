"""Ten identical creation POSTs at once (a member tapping "Publish" again and again on a
slow phone, or a script replaying the request): one row, and every answer is sent to it.

PostgreSQL only: each request runs in its own thread and connection, like requests on
several web workers; SQLite serialises every writer, so the race cannot happen there
(tests/core/test_once.py replays the same forms one after the other on SQLite)."""

from __future__ import annotations

import os
import uuid
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from listings.models import Listing, SavedSearch
from members.models import Member
from tests.factories import ListingFactory, MemberFactory
from tests.listings.test_views import item_post
from tests.threads import delete_conversations_of, in_own_connection, in_parallel

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="races need concurrent writers: PostgreSQL only",
    ),
]

RACERS = 10


def _signed_in_cookies(member: Member) -> dict:
    client = Client()
    client.force_login(member)
    return {name: morsel.value for name, morsel in client.cookies.items()}


def _post_from_own_client(cookies: dict, url: str, data: dict):
    def work():
        client = Client()
        for name, value in cookies.items():
            client.cookies[name] = value
        response = client.post(url, data)
        return response.status_code, response.get("Location", "")

    return work


def _delete(members: list[Member]) -> None:
    def delete() -> None:
        from django.contrib.sessions.models import Session

        pks = [m.pk for m in members]
        delete_conversations_of(pks)
        # Sessions hold no foreign key: a signed-in one left behind would outlive the
        # test and show up in later ones that look at every session.
        Session.objects.filter(
            pk__in=[s.pk for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")
                    in {str(pk) for pk in pks}]
        ).delete()
        Member.objects.filter(pk__in=pks).delete()  # listings and tokens go with them

    in_own_connection(delete)


@pytest.mark.parametrize("round_", range(3))
def test_ten_identical_listing_posts_at_once_create_one_listing(round_):
    member, cookies = in_own_connection(
        lambda: (lambda m: (m, _signed_in_cookies(m)))(MemberFactory())
    )
    data = {**item_post(), "once_token": str(uuid.uuid4())}
    url = reverse("listings:create-kind", args=["item"])
    try:
        answers = in_parallel([_post_from_own_client(cookies, url, data)] * RACERS, timeout=60)
        listings = in_own_connection(lambda: list(Listing.objects.filter(owner=member)))
        assert len(listings) == 1, answers
        photos = reverse("listings:photos", args=[listings[0].pk])
        assert Counter(answers) == {(302, photos): RACERS}
    finally:
        _delete([member])


def test_ten_identical_saved_searches_at_once_make_one():
    member, cookies = in_own_connection(
        lambda: (lambda m: (m, _signed_in_cookies(m)))(MemberFactory())
    )
    data = {"query": "q=ladder", "once_token": str(uuid.uuid4())}
    try:
        answers = in_parallel(
            [_post_from_own_client(cookies, reverse("listings:saved-create"), data)] * RACERS,
            timeout=60,
        )
        assert in_own_connection(lambda: SavedSearch.objects.filter(owner=member).count()) == 1
        assert Counter(answers) == {(302, reverse("listings:saved")): RACERS}
    finally:
        _delete([member])


def test_ten_identical_reports_at_once_make_one():
    from moderation.models import Report

    def setup():
        reporter, owner = MemberFactory(), MemberFactory()
        return reporter, owner, ListingFactory(owner=owner), _signed_in_cookies(reporter)

    reporter, owner, listing, cookies = in_own_connection(setup)
    url = reverse("moderation:report", args=["listing", listing.pk])
    data = {"reason": "spam", "note": "", "once_token": str(uuid.uuid4())}
    try:
        answers = in_parallel([_post_from_own_client(cookies, url, data)] * RACERS, timeout=60)
        assert in_own_connection(lambda: Report.objects.filter(reporter=reporter).count()) == 1
        assert Counter(answers) == {(302, listing.get_absolute_url()): RACERS}
    finally:
        in_own_connection(lambda: Report.objects.filter(reporter=reporter).delete())
        _delete([reporter, owner])
