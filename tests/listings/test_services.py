"""listings.services: what each service guarantees, and what it refuses."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core import geo
from listings import services
from listings.models import Kind, Listing, Photo, Status, Terms
from listings.services import ListingData
from members.services import member_share_location
from tests.core.test_images import bad_images, jpeg_with_gps_and_orientation, upload
from tests.factories import ListingFactory, RideFactory, category, image_upload
from tests.threads import in_own_connection

pytestmark = pytest.mark.django_db

ANNECY = geo.find_town("Annecy")
GENEVA = geo.find_town("Geneva")


def item_data(**changes) -> ListingData:
    data = ListingData(
        terms=Terms.LEND, title="Cordless drill", description="Two batteries.",
        category=category("power-tools"), condition="good",
    )
    return replace(data, **changes)


def ride_data(**changes) -> ListingData:
    data = ListingData(
        terms=Terms.SHARE, title="Annecy to Geneva", description="Monday morning.",
        category=category("carpool"), price_cents=500,
        origin_name=ANNECY.label, origin=ANNECY.point,
        destination_name=GENEVA.label, destination=GENEVA.point,
        departs_at=timezone.now() + timedelta(days=1), seats=3,
    )
    return replace(data, **changes)


def service_data(**changes) -> ListingData:
    data = ListingData(
        terms=Terms.BARTER, title="Italian lessons", description="Conversation.",
        category=category("languages"), hours_minutes=90, service_place="remote",
        duration_minutes=60,
    )
    return replace(data, **changes)


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.message_dict


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- creation -------------------------------------------------------------------------


def test_it_creates_an_active_item_at_the_place_given(member):
    listing = services.listing_create(
        owner=member, kind=Kind.ITEM,
        data=item_data(place=ANNECY.point, place_name=ANNECY.label, price_cents=250, deposit_cents=5000),
    )
    listing.refresh_from_db()
    assert listing.status == Status.ACTIVE and listing.owner == member
    assert (listing.price_cents, listing.deposit_cents) == (250, 5000)
    assert (listing.lat, listing.lng) == (ANNECY.lat, ANNECY.lng)
    assert listing.approx_point == geo.approximate(ANNECY.lat, ANNECY.lng)
    assert listing.place_name == "Annecy (FR)"


def test_a_new_listing_sits_at_the_members_home_when_they_consented(member):
    member = member_share_location(member=member, lat=45.9001, lng=6.1201)
    listing = services.listing_create(owner=member, kind=Kind.ITEM, data=item_data())
    assert (listing.lat, listing.lng) == (45.9001, 6.1201)
    assert listing.approx_point == geo.approximate(45.9001, 6.1201)


def test_a_new_listing_has_no_place_without_consent(member):
    listing = services.listing_create(owner=member, kind=Kind.ITEM, data=item_data())
    assert listing.lat is None and listing.approx_lat is None


def test_a_ride_is_placed_where_it_leaves_not_at_the_drivers_home(member):
    member = member_share_location(member=member, town="Lyon")
    ride = services.listing_create(owner=member, kind=Kind.RIDE, data=ride_data())
    assert ride.place_name == "Annecy (FR)"
    assert ride.approx_point == geo.approximate(ANNECY.lat, ANNECY.lng)
    # Origin and destination are stored approximated.
    assert (ride.origin_lat, ride.origin_lng) == tuple(
        vars(geo.approximate(ANNECY.lat, ANNECY.lng)).values()
    )


def test_it_clears_what_does_not_belong_to_the_kind(member):
    ride = services.listing_create(
        owner=member, kind=Kind.RIDE, data=ride_data(condition="good", service_place="remote")
    )
    assert ride.condition == "" and ride.service_place == ""
    service = services.listing_create(
        owner=member, kind=Kind.SERVICE, data=service_data(seats=3, origin_name="Annecy")
    )
    assert service.seats is None and service.origin_name == ""


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        (Kind.ITEM, lambda: item_data(terms=Terms.SELL, price_cents=0), "price_cents"),
        (Kind.ITEM, lambda: item_data(terms=Terms.GIVE, price_cents=100), "price_cents"),
        (Kind.ITEM, lambda: item_data(price_cents=-1), "price_cents"),
        (Kind.ITEM, lambda: item_data(price_cents=10_000_001), "price_cents"),
        (Kind.ITEM, lambda: item_data(deposit_cents=-5), "deposit_cents"),
        (Kind.ITEM, lambda: item_data(terms=Terms.SELL, price_cents=100, deposit_cents=1000), "deposit_cents"),
        (Kind.ITEM, lambda: item_data(terms=Terms.SHARE), "terms"),
        (Kind.ITEM, lambda: item_data(terms=Terms.BARTER, hours_minutes=60), "terms"),
        (Kind.RIDE, lambda: ride_data(terms=Terms.SELL), "terms"),
        (Kind.SERVICE, lambda: service_data(terms=Terms.LEND), "terms"),
        (Kind.SERVICE, lambda: service_data(hours_minutes=None), "hours_minutes"),
        (Kind.SERVICE, lambda: service_data(hours_minutes=0), "hours_minutes"),
        (Kind.SERVICE, lambda: service_data(hours_minutes=101 * 60), "hours_minutes"),
        (Kind.SERVICE, lambda: service_data(service_place=""), "service_place"),
        (Kind.RIDE, lambda: ride_data(departs_at=timezone.now() - timedelta(minutes=1)), "departs_at"),
        (Kind.RIDE, lambda: ride_data(departs_at=None), "departs_at"),
        (Kind.RIDE, lambda: ride_data(seats=0), "seats"),
        (Kind.RIDE, lambda: ride_data(seats=9), "seats"),
        (Kind.RIDE, lambda: ride_data(origin_name=""), "origin_name"),
        (Kind.RIDE, lambda: ride_data(destination_name=""), "destination_name"),
        (Kind.WANTED, lambda: item_data(terms=Terms.SHARE), "terms"),
    ],
    ids=[
        "sell without price", "give with price", "negative price", "price over 100000 euros",
        "negative deposit", "deposit for a sale", "item cost share", "item barter",
        "ride sold", "service lent", "barter without hours", "barter of zero hours",
        "barter of 101 hours", "service without place", "ride in the past",
        "ride without departure", "ride with 0 seats", "ride with 9 seats",
        "ride without origin", "ride without destination", "wanted cost share",
    ],
)
def test_it_refuses_what_does_not_fit_and_writes_nothing(member, kind, data, field):
    errors = errors_of(lambda: services.listing_create(owner=member, kind=kind, data=data()))
    assert field in errors
    assert not Listing.objects.exists()


def test_a_wanted_post_may_sell_or_barter_without_a_figure(member):
    services.listing_create(owner=member, kind=Kind.WANTED, data=item_data(terms=Terms.SELL))
    services.listing_create(owner=member, kind=Kind.WANTED, data=item_data(terms=Terms.BARTER))
    assert Listing.objects.filter(kind=Kind.WANTED).count() == 2


def test_an_unknown_kind_is_refused(member):
    with pytest.raises(ValidationError):
        services.listing_create(owner=member, kind="spaceship", data=item_data())


# --- updates ----------------------------------------------------------------------------


def test_the_owner_updates_a_listing_but_never_its_kind(member):
    listing = ListingFactory(owner=member)
    services.listing_update(
        listing=listing, by=member, data=item_data(terms=Terms.SELL, price_cents=4500, title="Drill")
    )
    listing.refresh_from_db()
    assert (listing.kind, listing.terms, listing.price_cents, listing.title) == (
        Kind.ITEM, Terms.SELL, 4500, "Drill"
    )


def test_an_update_without_a_place_keeps_the_place(member):
    listing = ListingFactory(owner=member)
    services.listing_update(listing=listing, by=member, data=item_data())
    listing.refresh_from_db()
    assert (listing.lat, listing.place_name) == (45.8992, "Annecy (FR)")


def test_another_member_cannot_update(member, other_member):
    listing = ListingFactory(owner=member)
    with pytest.raises(PermissionDenied):
        services.listing_update(listing=listing, by=other_member, data=item_data(title="Mine now"))
    listing.refresh_from_db()
    assert listing.title != "Mine now"


def test_a_ride_that_left_keeps_its_departure_but_cannot_move_to_the_past(member):
    left = timezone.now() - timedelta(hours=2)
    ride = RideFactory(owner=member, departs_at=left)
    services.listing_update(
        listing=ride, by=member, data=ride_data(departs_at=left, title="Annecy – Geneva")
    )
    ride.refresh_from_db()
    assert ride.title == "Annecy – Geneva"
    errors = errors_of(lambda: services.listing_update(
        listing=ride, by=member, data=ride_data(departs_at=left - timedelta(hours=1))
    ))
    assert "departs_at" in errors


def test_a_removed_listing_cannot_be_changed(member):
    listing = ListingFactory(owner=member, status=Status.REMOVED)
    with pytest.raises(ValidationError):
        services.listing_update(listing=listing, by=member, data=item_data())
    with pytest.raises(ValidationError):
        services.listing_set_status(listing=listing, by=member, status=Status.ACTIVE)
    with pytest.raises(ValidationError):
        services.listing_delete(listing=listing, by=member)
    assert Listing.objects.filter(pk=listing.pk, status=Status.REMOVED).exists()


# --- status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (Status.ACTIVE, Status.PAUSED, True),
        (Status.ACTIVE, Status.CLOSED, True),
        (Status.PAUSED, Status.ACTIVE, True),
        (Status.PAUSED, Status.CLOSED, True),
        (Status.CLOSED, Status.ACTIVE, True),
        (Status.CLOSED, Status.PAUSED, False),
        (Status.ACTIVE, Status.ACTIVE, False),
        (Status.ACTIVE, Status.REMOVED, False),
        (Status.PAUSED, Status.REMOVED, False),
        (Status.ACTIVE, "deleted", False),
    ],
)
def test_status_moves_follow_the_table(member, start, target, allowed):
    listing = ListingFactory(owner=member, status=start)
    if allowed:
        services.listing_set_status(listing=listing, by=member, status=target)
    else:
        with pytest.raises(ValidationError):
            services.listing_set_status(listing=listing, by=member, status=target)
    listing.refresh_from_db()
    assert listing.status == (target if allowed else start)


def test_another_member_cannot_change_the_status(member, other_member):
    listing = ListingFactory(owner=member)
    with pytest.raises(PermissionDenied):
        services.listing_set_status(listing=listing, by=other_member, status=Status.PAUSED)
    listing.refresh_from_db()
    assert listing.status == Status.ACTIVE


def test_a_ride_that_left_cannot_be_reactivated(member):
    ride = RideFactory(owner=member, status=Status.PAUSED, departs_at=timezone.now() - timedelta(hours=1))
    assert Status.ACTIVE not in services.listing_next_statuses(ride)
    with pytest.raises(ValidationError):
        services.listing_set_status(listing=ride, by=member, status=Status.ACTIVE)


def test_next_statuses_match_what_set_status_accepts(member):
    assert services.listing_next_statuses(ListingFactory(status=Status.ACTIVE)) == [
        Status.PAUSED, Status.CLOSED
    ]
    assert services.listing_next_statuses(ListingFactory(status=Status.PAUSED)) == [
        Status.ACTIVE, Status.CLOSED
    ]
    assert services.listing_next_statuses(ListingFactory(status=Status.CLOSED)) == [Status.ACTIVE]
    assert services.listing_next_statuses(ListingFactory(status=Status.REMOVED)) == []


# --- delete and photos -------------------------------------------------------------------


def test_delete_removes_the_listing_and_its_photo_files(member, settings, django_capture_on_commit_callbacks):
    listing = ListingFactory(owner=member)
    photo = services.photo_add(listing=listing, by=member, upload=image_upload())
    paths = [Path(photo.image.path), Path(photo.thumbnail.path)]
    assert all(p.exists() for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_delete(listing=listing, by=member)
    assert not Listing.objects.filter(pk=listing.pk).exists()
    assert not Photo.objects.exists()
    assert not any(p.exists() for p in paths)
    assert media_files(settings) == []


def test_another_member_cannot_delete(member, other_member):
    listing = ListingFactory(owner=member)
    with pytest.raises(PermissionDenied):
        services.listing_delete(listing=listing, by=other_member)
    assert Listing.objects.filter(pk=listing.pk).exists()


def test_a_photo_is_stored_without_metadata_and_upright(member):
    listing = ListingFactory(owner=member)
    photo = services.photo_add(
        listing=listing, by=member, upload=upload(jpeg_with_gps_and_orientation()), alt_text=" Red drill "
    )
    from PIL import Image

    with Image.open(photo.image.path) as stored:
        assert stored.format == "WEBP" and not stored.getexif()
        assert stored.size == (120, 300)
    assert (photo.width, photo.height) == (120, 300)
    assert photo.alt_text == "Red drill"
    assert photo.thumbnail.name.endswith("-thumb.webp")


@pytest.mark.parametrize("kind", list(bad_images()))
def test_a_bad_photo_is_refused_and_nothing_is_stored(member, settings, kind):
    listing = ListingFactory(owner=member)
    data, message = bad_images()[kind]
    errors = errors_of(lambda: services.photo_add(listing=listing, by=member, upload=upload(data)))
    assert message in " ".join(errors["image"])
    assert not Photo.objects.exists()
    assert media_files(settings) == []


def test_a_listing_holds_at_most_eight_photos(member, settings):
    listing = ListingFactory(owner=member)
    for _ in range(8):
        services.photo_add(listing=listing, by=member, upload=image_upload())
    errors = errors_of(lambda: services.photo_add(listing=listing, by=member, upload=image_upload()))
    assert "at most 8 photos" in errors["image"][0]
    assert listing.photos.count() == 8
    assert len(media_files(settings)) == 16


def test_photos_are_numbered_in_upload_order(member):
    listing = ListingFactory(owner=member)
    first = services.photo_add(listing=listing, by=member, upload=image_upload())
    second = services.photo_add(listing=listing, by=member, upload=image_upload())
    assert first.position < second.position
    assert list(listing.photos.all()) == [first, second]


def test_another_member_cannot_add_or_delete_photos(member, other_member):
    listing = ListingFactory(owner=member)
    photo = services.photo_add(listing=listing, by=member, upload=image_upload())
    with pytest.raises(PermissionDenied):
        services.photo_add(listing=listing, by=other_member, upload=image_upload())
    with pytest.raises(PermissionDenied):
        services.photo_delete(photo=photo, by=other_member)
    assert listing.photos.count() == 1


def test_photo_delete_removes_its_files(member, settings, django_capture_on_commit_callbacks):
    listing = ListingFactory(owner=member)
    keep = services.photo_add(listing=listing, by=member, upload=image_upload())
    gone = services.photo_add(listing=listing, by=member, upload=image_upload())
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo=gone, by=member)
    assert list(listing.photos.all()) == [keep]
    assert not Path(gone.image.path).exists() and not Path(gone.thumbnail.path).exists()
    assert Path(keep.image.path).exists()


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="row locks under real concurrency need PostgreSQL",
)
def test_two_uploads_at_once_cannot_pass_the_cap():
    """Both uploads pass the early count; the row lock lets only one write the 8th.

    Every step runs in its own connection and commits, as real requests do; the test
    deletes what it made (a transactional test would flush the seeded categories)."""
    import threading

    from tests.factories import MemberFactory

    def make_listing_with_seven_photos() -> Listing:
        listing = ListingFactory(owner=MemberFactory())
        for _ in range(7):
            services.photo_add(listing=listing, by=listing.owner, upload=image_upload())
        return listing

    listing = in_own_connection(make_listing_with_seven_photos)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add_one() -> None:
        barrier.wait()
        try:
            services.photo_add(
                listing=listing, by=listing.owner, upload=image_upload(size=(1200, 900))
            )
            outcomes.append("added")
        except ValidationError:
            outcomes.append("refused")

    try:
        racers = [threading.Thread(target=in_own_connection, args=(add_one,)) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert sorted(outcomes) == ["added", "refused"]
        assert in_own_connection(lambda: listing.photos.count()) == 8
    finally:
        in_own_connection(lambda: listing.owner.delete())
