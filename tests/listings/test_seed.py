"""The demo data (seed_demo) and the benchmark filler (seed_bulk).

Drawing and re-encoding the demo photos takes a few seconds, so the demo town is seeded
once for this module (committed, with its own media folder) and removed at the end;
each test then runs in its own transaction as usual, so what a test changes is undone.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Max
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core import geo
from listings import demo
from listings.models import Kind, Listing, Photo, Terms
from members.models import ConsentRecord, Member
from tests.factories import category

DEMO_EMAILS = [spec.email for spec in demo.MEMBERS]


def _run(*args, **options) -> str:
    out = io.StringIO()
    if args[0] == "seed_demo":
        options.setdefault("force", True)  # tests run with DEBUG off, on a test database
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo-media")


@pytest.fixture(scope="module")
def demo_town(django_db_setup, django_db_blocker, demo_media):
    """The demo town, seeded once for the module; returns what the command printed."""
    overrides = override_settings(
        MEDIA_ROOT=demo_media,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    with django_db_blocker.unblock(), overrides:
        category()  # a transactional test run earlier may have flushed the seeded tree
        output = _run("seed_demo")
    yield output
    with django_db_blocker.unblock():
        # A conversation outlives a deleted member (the other keeps the history): the
        # demo's own go first, so no later test finds them.
        from messaging.models import Conversation

        Conversation.objects.filter(participants__member__email__in=DEMO_EMAILS).delete()
        # Cascades to their listings, photos, email addresses and consent records.
        Member.objects.filter(email__in=DEMO_EMAILS).delete()


def _counts() -> dict[str, int]:
    return {
        "members": Member.objects.count(),
        "emails": EmailAddress.objects.count(),
        "consents": ConsentRecord.objects.count(),
        "listings": Listing.objects.count(),
        "photos": Photo.objects.count(),
    }


# --- seed_demo ------------------------------------------------------------------------


def test_alice_and_bob_can_sign_in_with_the_demo_password(demo_town, db, client):
    for email in ("alice@example.com", "bob@example.com"):
        assert client.login(email=email, password="partage-demo")
        client.logout()


def test_the_demo_login_passes_the_login_page_with_mandatory_verification(
    demo_town, db, client, settings
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": "partage-demo"}
    )
    assert response.status_code == 302
    assert "confirm-email" not in response["Location"]
    assert int(client.session["_auth_user_id"]) == Member.objects.get(
        email="alice@example.com").pk


def test_a_wrong_password_does_not_sign_in_a_demo_member(demo_town, db, client):
    assert not client.login(email="alice@example.com", password="partage-demo!")


def test_seed_demo_prints_the_demo_logins_and_what_it_created(demo_town):
    assert "alice@example.com / partage-demo" in demo_town
    assert "bob@example.com / partage-demo" in demo_town
    assert f"members {len(demo.MEMBERS)} created, 0 existing" in demo_town
    assert f"listings {len(demo.LISTINGS)} created, 0 existing" in demo_town


def test_the_demo_town_has_a_dozen_members_living_within_3_km_of_annecy(demo_town, db):
    members = list(Member.objects.filter(email__in=DEMO_EMAILS))
    assert 10 <= len(members) <= 15
    centre = geo.Point(45.8992, 6.1294)
    for member in members:
        assert member.check_password("partage-demo")
        assert member.display_name and member.bio and member.neighbourhood
        assert member.languages
        assert member.location_consent
        assert geo.haversine_km(centre, geo.Point(member.home_lat, member.home_lng)) < 3.5
        assert member.consents.filter(kind=ConsentRecord.Kind.LOCATION, granted=True).exists()
        assert EmailAddress.objects.filter(
            user=member, email=member.email, verified=True, primary=True
        ).exists()


def test_some_demo_members_have_a_drawn_avatar_from_the_image_pipeline(
    demo_town, db, demo_media
):
    with_avatar = Member.objects.filter(email__in=DEMO_EMAILS).exclude(avatar="")
    assert with_avatar.count() >= 4
    for member in with_avatar:
        with Image.open(demo_media / member.avatar.name) as image:
            assert image.format == "WEBP"
        assert (demo_media / member.avatar_thumbnail.name).exists()


def test_the_demo_listings_cover_every_kind_and_every_terms(demo_town, db):
    listings = Listing.objects.filter(owner__email__in=DEMO_EMAILS)
    assert 50 <= listings.count() <= 70
    assert set(listings.values_list("kind", flat=True)) == set(Kind.values)
    assert set(listings.values_list("terms", flat=True)) == set(Terms.values)
    items = listings.filter(kind=Kind.ITEM)
    # Lent for free, lent for a fee with a deposit, given, swapped, sold.
    assert items.filter(terms=Terms.LEND, price_cents=0, deposit_cents=0).exists()
    assert items.filter(terms=Terms.LEND, price_cents__gt=0, deposit_cents__gt=0).exists()
    assert items.filter(terms=Terms.SELL, price_cents__gt=0).exists()
    assert listings.filter(kind=Kind.SERVICE, terms=Terms.BARTER, hours_minutes__gt=0).exists()
    for listing in listings:
        listing.full_clean()
        assert listing.approx_lat is not None


def test_every_demo_item_has_one_to_three_photos_stored_without_metadata(
    demo_town, db, demo_media
):
    # The drawings are made with an EXIF block, as a phone photo would have one ...
    with Image.open(io.BytesIO(demo.draw_listing_photo("Drill", "tools"))) as drawn:
        assert dict(drawn.getexif())
    for listing in Listing.objects.filter(owner__email__in=DEMO_EMAILS, kind=Kind.ITEM):
        assert 1 <= listing.photos.count() <= 3
    photos = Photo.objects.filter(listing__owner__email__in=DEMO_EMAILS)
    assert photos.exists()
    # ... and none of it survives the upload pipeline.
    for photo in photos:
        for stored in (photo.image, photo.thumbnail):
            with Image.open(demo_media / stored.name) as image:
                assert image.format == "WEBP"
                assert not dict(image.getexif())
                assert "exif" not in image.info and "xmp" not in image.info


def test_demo_rides_leave_in_the_coming_days_to_nearby_cities(demo_town, db):
    rides = Listing.objects.filter(owner__email__in=DEMO_EMAILS, kind=Kind.RIDE)
    assert rides.count() >= 5
    now = timezone.now()
    for ride in rides:
        assert now < ride.departs_at < now + timedelta(days=8)
        assert 1 <= ride.seats <= 8
    destinations = " ".join(rides.values_list("destination_name", flat=True))
    for city in ("Geneva", "Lyon", "Chambéry", "Grenoble", "Aix-les-Bains"):
        assert city in destinations
    assert Listing.objects.visible_to_public().filter(pk__in=rides).count() == rides.count()


def test_running_seed_demo_again_creates_and_changes_nothing(demo_town, db):
    before = _counts()
    last_change = Listing.objects.aggregate(last=Max("updated_at"))["last"]
    output = _run("seed_demo")
    assert _counts() == before
    assert Listing.objects.aggregate(last=Max("updated_at"))["last"] == last_change
    assert "members 0 created" in output and "listings 0 created" in output
    assert "alice@example.com / partage-demo" in output


def test_seed_demo_recreates_only_what_is_missing(demo_town, db):
    before = _counts()
    bob = Member.objects.get(email="bob@example.com")
    bobs_listings = bob.listings.count()
    bob.listings.filter(kind=Kind.RIDE).first().delete()
    Member.objects.get(email="alice@example.com").delete()
    output = _run("seed_demo")
    assert _counts() == before
    assert bob.listings.count() == bobs_listings
    assert "members 1 created, 11 existing" in output


def test_once_does_nothing_when_alice_exists(demo_town, db, django_assert_max_num_queries):
    Member.objects.get(email="bob@example.com").listings.all().delete()
    before = _counts()
    with django_assert_max_num_queries(1):
        output = _run("seed_demo", once=True)
    assert _counts() == before  # Bob's listings were not put back
    assert "alice@example.com / partage-demo" in output
    assert "bob@example.com / partage-demo" in output


def test_once_seeds_when_alice_is_missing(demo_town, db):
    before = _counts()
    Member.objects.get(email="alice@example.com").delete()
    _run("seed_demo", once=True)
    assert _counts() == before
    assert Member.objects.get(email="alice@example.com").listings.exists()


# --- seed_bulk ------------------------------------------------------------------------


def test_seed_bulk_creates_that_many_valid_listings(db):
    before = Listing.objects.count()
    output = _run("seed_bulk", listings=200, members=12, batch=64, seed=7)
    created = Listing.objects.order_by("-id")[:200]
    assert Listing.objects.count() == before + 200
    assert set(created.values_list("kind", flat=True)) == set(Kind.values)
    assert len({listing.title for listing in created}) > 40
    for listing in created[:60]:
        listing.full_clean()
        assert listing.approx_lat is not None
        assert geo.haversine_km(geo.Point(45.8992, 6.1294),
                                geo.Point(listing.lat, listing.lng)) < 31
        if listing.kind == Kind.RIDE:
            assert listing.departs_at > timezone.now()
    assert not Photo.objects.filter(listing__in=created).exists()
    assert "[##############################] 200/200 listings" in output
    assert "64/200 listings" in output


def test_seed_bulk_members_share_their_location_with_consent(db):
    _run("seed_bulk", listings=10, members=5)
    members = Member.objects.filter(email__startswith="bulk-")
    assert members.count() == 5
    for member in members:
        member.full_clean(exclude=["password"])
        assert member.location_consent and member.approx_lat is not None
        assert member.consents.filter(kind=ConsentRecord.Kind.LOCATION, granted=True).exists()
        assert member.check_password("partage-bench")


def test_seed_bulk_can_run_twice(db):
    _run("seed_bulk", listings=20, members=3)
    _run("seed_bulk", listings=20, members=3)
    assert Member.objects.filter(email__startswith="bulk-").count() == 6


@pytest.mark.parametrize("arguments", [
    {"listings": 0}, {"listings": -5}, {"listings": 10, "members": 0},
    {"listings": 10, "batch": 0},
])
def test_seed_bulk_refuses_counts_that_are_not_positive(db, arguments):
    before = _counts()
    with pytest.raises(CommandError):
        _run("seed_bulk", **arguments)
    assert _counts() == before


def test_seed_demo_refuses_to_run_on_a_live_site_without_force(db, settings):
    settings.DEBUG = False
    members_before = Member.objects.count()
    with pytest.raises(CommandError, match="known password"):
        call_command("seed_demo", stdout=io.StringIO())
    assert Member.objects.count() == members_before


def test_seed_bulk_leaves_the_planner_statistics(db):
    _run("seed_bulk", listings=60, members=4, batch=25, seed=3)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # reltuples stays -1 (never analysed) until ANALYZE runs: nothing else updates
            # it inside the test's transaction.
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s",
                           [Listing._meta.db_table])
            assert cursor.fetchone()[0] >= 60
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s",
                           [Listing._meta.db_table])
            assert cursor.fetchone()[0] > 0
        else:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s",
                           [Listing._meta.db_table])
            stats = [row[0] for row in cursor.fetchall()]
            assert stats and int(stats[0].split()[0]) >= 60
