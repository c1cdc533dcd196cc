"""The owner's listing pages and the listing page, with their refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from listings import services
from listings.models import Kind, Listing, Photo, Status
from members.services import member_share_location
from tests.factories import ListingFactory, RideFactory, ServiceFactory, category, image_upload

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def url(name: str, *args) -> str:
    return reverse(f"listings:{name}", args=args)


def item_post(**changes) -> dict:
    data = {
        "terms": "sell", "title": "Cordless drill", "description": "Two batteries.",
        "category": str(category("power-tools").pk), "condition": "good", "price": "45,50",
        "deposit": "", "town": "Annecy",
    }
    data.update(changes)
    return data


def ride_post(**changes) -> dict:
    data = {
        "title": "Annecy to Geneva", "description": "Monday.", "category": str(category("carpool").pk),
        "origin": "Annecy", "destination": "Geneva", "seats": "3", "price": "5",
        "departs_at": (timezone.localtime() + timedelta(days=2)).strftime(LOCAL),
        "pets_ok": "on",
    }
    data.update(changes)
    return data


# --- refusals shared by every owner page -------------------------------------------------

OWNER_PAGES = [
    ("get", "edit"), ("post", "edit"), ("get", "photos"), ("post", "photos"),
    ("post", "status"), ("get", "delete"), ("post", "delete"),
]


@pytest.mark.parametrize(("method", "name"), OWNER_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, method, name):
    listing = ListingFactory()
    response = getattr(client, method)(url(name, listing.pk))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert Listing.objects.get(pk=listing.pk).status == Status.ACTIVE


@pytest.mark.parametrize(("method", "name"), OWNER_PAGES)
def test_another_members_listing_is_not_found(member_client, other_member, method, name):
    listing = ListingFactory(owner=other_member)
    response = getattr(member_client, method)(
        url(name, listing.pk), {"status": "paused", "title": "Mine now"}
    )
    assert response.status_code == 404
    listing.refresh_from_db()
    assert listing.status == Status.ACTIVE and listing.title != "Mine now"


@pytest.mark.parametrize(("method", "name"), OWNER_PAGES)
def test_a_removed_listing_is_not_found_even_for_its_owner(member_client, member, method, name):
    listing = ListingFactory(owner=member, status=Status.REMOVED)
    assert getattr(member_client, method)(url(name, listing.pk)).status_code == 404
    assert Listing.objects.filter(pk=listing.pk).exists()


@pytest.mark.parametrize("name", ["mine", "create"])
def test_the_members_pages_need_a_login(client, name):
    response = client.get(url(name))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_creating_needs_a_login(client):
    response = client.post(url("create-kind", "item"), item_post())
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    assert not Listing.objects.exists()


@pytest.mark.parametrize("name", ["status", "photo-delete"])
def test_post_only_endpoints_refuse_get(member_client, member, name):
    listing = ListingFactory(owner=member)
    photo = services.photo_add(listing=listing, by=member, upload=image_upload())
    args = (listing.pk, photo.pk) if name == "photo-delete" else (listing.pk,)
    assert member_client.get(url(name, *args)).status_code == 405
    assert Photo.objects.filter(pk=photo.pk).exists()


# --- creating -----------------------------------------------------------------------------


def test_the_choice_page_offers_the_four_kinds_as_links(member_client):
    response = member_client.get(url("create"))
    assert response.status_code == 200
    for kind in Kind.values:
        assert f'href="{url("create-kind", kind)}"' in response.content.decode()


def test_an_unknown_kind_is_not_found(member_client):
    assert member_client.get(url("create-kind", "spaceship")).status_code == 404
    assert member_client.post(url("create-kind", "spaceship"), item_post()).status_code == 404


@pytest.mark.parametrize(
    ("kind", "present", "absent"),
    [
        ("item", ["condition", "deposit", "town", "terms"], ["origin", "seats", "service_place"]),
        ("ride", ["origin", "destination", "departs_at", "seats", "luggage_ok"], ["terms", "condition", "town"]),
        ("service", ["service_place", "duration", "hours", "terms"], ["condition", "seats", "deposit"]),
        ("wanted", ["terms", "price", "hours"], ["condition", "seats", "service_place"]),
    ],
)
def test_each_kind_gets_its_own_form(member_client, kind, present, absent):
    html = member_client.get(url("create-kind", kind)).content.decode()
    for name in present:
        assert f'name="{name}"' in html
    for name in absent:
        assert f'name="{name}"' not in html
    assert "<optgroup" in html


def test_the_ride_form_uses_a_datetime_input(member_client):
    html = member_client.get(url("create-kind", "ride")).content.decode()
    assert 'type="datetime-local"' in html


def test_creating_an_item_leads_to_its_photos(member_client, member):
    response = member_client.post(url("create-kind", "item"), item_post())
    listing = Listing.objects.get()
    assert response.status_code == 302 and response.url == url("photos", listing.pk)
    assert (listing.owner, listing.kind, listing.terms, listing.price_cents) == (member, "item", "sell", 4550)
    assert listing.place_name == "Annecy (FR)"


def test_creating_a_ride(member_client):
    response = member_client.post(url("create-kind", "ride"), ride_post())
    ride = Listing.objects.get()
    assert response.status_code == 302
    assert (ride.kind, ride.terms, ride.seats, ride.pets_ok, ride.price_cents) == ("ride", "share", 3, True, 500)


def test_form_errors_show_next_to_their_fields_and_nothing_is_saved(member_client):
    response = member_client.post(url("create-kind", "item"), item_post(price="-4", town="Nowhere-sur-Rien"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "An amount cannot be negative." in html
    assert "We do not know this town" in html
    assert 'class="field field-error"' in html
    assert not Listing.objects.exists()


def test_service_errors_come_back_onto_the_form(member_client):
    response = member_client.post(url("create-kind", "item"), item_post(price="", terms="sell"))
    assert response.status_code == 200
    assert "Set a price to sell." in response.content.decode()
    assert not Listing.objects.exists()


def test_a_ride_in_the_past_is_refused_on_the_page(member_client):
    past = (timezone.localtime() - timedelta(days=1)).strftime(LOCAL)
    response = member_client.post(url("create-kind", "ride"), ride_post(departs_at=past))
    assert "The departure must be in the future." in response.content.decode()
    assert not Listing.objects.exists()


# --- editing ------------------------------------------------------------------------------


def test_the_owner_edits_a_listing(member_client, member):
    listing = ListingFactory(owner=member)
    form = member_client.get(url("edit", listing.pk))
    assert form.status_code == 200 and listing.title in form.content.decode()
    response = member_client.post(url("edit", listing.pk), item_post(title="Hammer drill", town="Annecy (FR)"))
    assert response.status_code == 302 and response.url == listing.get_absolute_url()
    listing.refresh_from_db()
    assert (listing.title, listing.terms, listing.price_cents) == ("Hammer drill", "sell", 4550)


def test_the_kind_cannot_change_on_edit(member_client, member):
    listing = ListingFactory(owner=member)
    member_client.post(url("edit", listing.pk), {**item_post(), "kind": "ride"})
    listing.refresh_from_db()
    assert listing.kind == Kind.ITEM
    assert 'name="kind"' not in member_client.get(url("edit", listing.pk)).content.decode()


def test_an_edit_with_errors_changes_nothing(member_client, member):
    listing = ListingFactory(owner=member, title="Drill")
    response = member_client.post(url("edit", listing.pk), item_post(title="New", price="1.234"))
    assert response.status_code == 200
    listing.refresh_from_db()
    assert listing.title == "Drill"


def test_a_service_edit_round_trips_its_hours(member_client, member):
    service = ServiceFactory(owner=member, hours_minutes=80, duration_minutes=90)
    html = member_client.get(url("edit", service.pk)).content.decode()
    assert 'value="1:20"' in html and 'value="1.5"' in html


# --- status and delete --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target"),
    [("active", "paused"), ("paused", "active"), ("active", "closed"), ("closed", "active"), ("paused", "closed")],
)
def test_the_owner_moves_the_status(member_client, member, start, target):
    listing = ListingFactory(owner=member, status=start)
    response = member_client.post(url("status", listing.pk), {"status": target})
    assert response.status_code == 302 and response.url == listing.get_absolute_url()
    listing.refresh_from_db()
    assert listing.status == target


@pytest.mark.parametrize("target", ["removed", "active", "nonsense", ""])
def test_a_status_move_that_is_not_allowed_changes_nothing(member_client, member, target):
    listing = ListingFactory(owner=member, status="active")
    response = member_client.post(url("status", listing.pk), {"status": target}, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])[0].level_tag == "error"
    listing.refresh_from_db()
    assert listing.status == "active"


def test_status_changes_go_back_to_a_local_page_only(member_client, member):
    listing = ListingFactory(owner=member)
    response = member_client.post(url("status", listing.pk), {"status": "paused", "next": url("mine")})
    assert response.url == url("mine")
    response = member_client.post(url("status", listing.pk), {"status": "active", "next": "https://evil.example/"})
    assert response.url == listing.get_absolute_url()


def test_delete_asks_for_confirmation_first(member_client, member):
    listing = ListingFactory(owner=member)
    response = member_client.get(url("delete", listing.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'action="{url("delete", listing.pk)}"' in html and 'method="post"' in html
    assert Listing.objects.filter(pk=listing.pk).exists()


def test_delete_removes_the_listing_and_its_photo_files(
    member_client, member, django_capture_on_commit_callbacks
):
    listing = ListingFactory(owner=member)
    photo = services.photo_add(listing=listing, by=member, upload=image_upload())
    files = [Path(photo.image.path), Path(photo.thumbnail.path)]
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(url("delete", listing.pk))
    assert response.status_code == 302 and response.url == url("mine")
    assert not Listing.objects.filter(pk=listing.pk).exists()
    assert not any(path.exists() for path in files)


# --- my listings --------------------------------------------------------------------------


def test_my_listings_are_grouped_by_status_with_quick_actions(member_client, member, other_member):
    active = ListingFactory(owner=member, title="Active drill")
    paused = ListingFactory(owner=member, title="Paused ladder", status="paused")
    closed = ListingFactory(owner=member, title="Closed saw", status="closed")
    ListingFactory(owner=member, title="Removed thing", status="removed")
    ListingFactory(owner=other_member, title="Someone else's")
    response = member_client.get(url("mine"))
    html = response.content.decode()
    groups = {group["status"]: [listing.title for listing in group["listings"]] for group in response.context["groups"]}
    assert groups == {
        "active": ["Active drill"], "paused": ["Paused ladder"], "closed": ["Closed saw"],
        "removed": ["Removed thing"],
    }
    assert "Someone else&#x27;s" not in html and "Someone else's" not in html
    assert html.index("Active drill") < html.index("Paused ladder") < html.index("Closed saw")
    for listing in (active, paused, closed):
        assert url("edit", listing.pk) in html and url("delete", listing.pk) in html
    assert url("edit", Listing.objects.get(title="Removed thing").pk) not in html


def test_my_listings_invites_a_first_post(member_client):
    html = member_client.get(url("mine")).content.decode()
    assert "You have not posted anything yet." in html


# --- the listing page ---------------------------------------------------------------------


def test_the_listing_page_shows_the_facts(client, member):
    listing = ListingFactory(
        owner=member, terms="lend", price_cents=350, deposit_cents=5000,
        description="Line one\n<script>alert(1)</script>",
    )
    services.photo_add(listing=listing, by=member, upload=image_upload(), alt_text="The drill")
    response = client.get(listing.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert listing.title in html and "3.50 €" in html and "50.00 €" in html
    assert "Good" in html and "Power tools" in html and "Annecy (FR)" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert 'alt="The drill"' in html
    assert reverse("members:profile", args=[member.pk]) in html and "Alice" in html
    assert url("edit", listing.pk) not in html  # no owner tools for a visitor


def test_the_listing_page_never_shows_exact_coordinates(client, other_member):
    listing = ListingFactory(lat=45.899247, lng=6.129384, approx_lat=45.90075, approx_lng=6.12813)
    ride = RideFactory(lat=45.899247, lng=6.129384, origin_lat=45.90075, origin_lng=6.12813)
    member = member_share_location(member=other_member, lat=46.2044, lng=6.1432)
    client.force_login(member)
    for shown in (listing, ride):
        html = client.get(shown.get_absolute_url()).content.decode()
        for secret in ("45.899247", "6.129384", "45.899", "6.129", "45,899", "46.2044", "6.1432"):
            assert secret not in html


def test_the_listing_page_says_how_far_it_is(client, other_member):
    listing = ListingFactory(approx_lat=45.90075, approx_lng=6.12813)
    viewer = member_share_location(member=other_member, town="Geneva")
    client.force_login(viewer)
    html = client.get(listing.get_absolute_url()).content.decode()
    assert "km from you" in html
    assert client.get(listing.get_absolute_url()).context["distance_km"] == pytest.approx(35, abs=5)


def test_a_ride_page_shows_the_trip(client):
    ride = RideFactory(seats=2, luggage_ok=True, price_cents=450)
    html = client.get(ride.get_absolute_url()).content.decode()
    assert "Annecy (FR)" in html and "Geneva (CH)" in html
    assert "Room for luggage" in html and "No pets" in html and "4.50 €" in html


def test_a_service_page_shows_where_and_hours(client):
    service = ServiceFactory(hours_minutes=90, service_place="remote", duration_minutes=60)
    html = client.get(service.get_absolute_url()).content.decode()
    assert "Remotely" in html and "1 h 30" in html


def test_the_owner_sees_the_management_buttons(member_client, member):
    listing = ListingFactory(owner=member)
    html = member_client.get(listing.get_absolute_url()).content.decode()
    for name in ("edit", "photos", "delete", "status"):
        assert url(name, listing.pk) in html
    assert 'value="paused"' in html and 'value="closed"' in html


@pytest.mark.parametrize("status", ["paused", "closed"])
def test_a_listing_that_is_not_active_is_only_for_its_owner(client, member, other_member, status):
    listing = ListingFactory(owner=member, status=status)
    assert client.get(listing.get_absolute_url()).status_code == 404
    client.force_login(other_member)
    assert client.get(listing.get_absolute_url()).status_code == 404
    client.force_login(member)
    response = client.get(listing.get_absolute_url())
    assert response.status_code == 200
    assert "only you can see it" in response.content.decode()
    assert 'value="active"' in response.content.decode()


@pytest.mark.parametrize(("status", "heading", "says"), [
    ("paused", "This listing is paused", "has paused “Ladder” for now"),
    ("closed", "This listing is closed", "has closed “Ladder”"),
])
def test_others_are_told_a_listing_is_paused_or_closed(client, member, other_member, status,
                                                       heading, says):
    listing = ListingFactory(owner=member, status=status, title="Ladder")
    for viewer in (None, other_member):
        if viewer:
            client.force_login(viewer)
        response = client.get(listing.get_absolute_url())
        page = response.content.decode()
        assert response.status_code == 404
        assert heading in page and says in page
        assert "Cache-Control" not in response or "public" not in response["Cache-Control"]
        assert 'value="active"' not in page  # none of the owner's controls


def test_a_removed_listing_is_not_found_for_anyone_but_still_exists(client, member):
    listing = ListingFactory(owner=member, status="removed")
    assert client.get(listing.get_absolute_url()).status_code == 404
    client.force_login(member)
    assert client.get(listing.get_absolute_url()).status_code == 404
    assert Listing.objects.filter(pk=listing.pk).exists()


def test_a_missing_listing_is_not_found(client):
    assert client.get(url("detail", 999999)).status_code == 404


def test_pages_carry_no_inline_script(member_client, member):
    listing = ListingFactory(owner=member)
    pages = [url("mine"), url("create"), url("create-kind", "ride"), url("edit", listing.pk),
             url("photos", listing.pk), url("delete", listing.pk), listing.get_absolute_url()]
    for page in pages:
        html = member_client.get(page).content.decode()
        main = html[html.index("<main"):html.index("</main>")]
        assert "<script" not in main and " onclick=" not in main and " onsubmit=" not in main


def test_town_fields_suggest_towns_as_one_types(member_client):
    html = member_client.get(url("create-kind", "ride")).content.decode()
    for name in ("origin", "destination"):
        assert f'list="{name}-suggestions"' in html and f'<datalist id="{name}-suggestions">' in html
    html = member_client.get(url("create-kind", "item")).content.decode()
    assert 'list="town-suggestions"' in html and f'hx-get="{reverse("members:towns")}"' in html
    assert "Annecy (FR)" in member_client.get(reverse("members:towns"), {"town": "Anne"}).content.decode()


def test_an_edit_keeps_a_place_that_is_not_a_town(member_client, member):
    listing = ListingFactory(owner=member, place_name="Vieille Ville", lat=45.8992, lng=6.1294)
    response = member_client.post(url("edit", listing.pk), item_post(town="Vieille Ville", title="Renamed"))
    assert response.status_code == 302
    listing.refresh_from_db()
    assert (listing.title, listing.place_name, listing.lat) == ("Renamed", "Vieille Ville", 45.8992)


def test_the_new_ride_form_preselects_carpooling(member_client):
    from tests.factories import category

    carpool = category("carpool")
    body = member_client.get("/listings/new/ride/").content.decode()
    assert f'<option value="{carpool.pk}" selected>' in body
