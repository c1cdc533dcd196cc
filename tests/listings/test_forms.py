"""listings.forms: euros and hours parsed exactly, towns resolved, service refusals shown
next to their fields."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from listings import services
from listings.forms import ListingForm, format_euros, format_hours, parse_euros, parse_hours
from listings.models import Kind, Listing, Terms
from tests.factories import RideFactory, category

LOCAL = "%Y-%m-%dT%H:%M"

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12.50", 1250), ("12,50", 1250), ("12", 1200), ("0.1", 10), ("0,07", 7),
        ("19.99", 1999), ("1 250,00 €", 125000), ("€3", 300), ("100000", 10_000_000),
        (".5", 50), ("12.500", 1250), ("4.35", 435), ("1.10", 110),
    ],
)
def test_euros_become_exact_cents(text, cents):
    assert parse_euros(text) == cents


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-1", "negative"), ("-0.50", "negative"), ("12.505", "decimals"), ("0.001", "decimals"),
        ("twelve", "invalid"), ("12a", "invalid"), ("1e3", "invalid"), ("NaN", "invalid"),
        ("Infinity", "invalid"), ("1.000,50", "invalid"), ("100000.01", "too_large"),
        ("99999999999999999999", "too_large"), ("1" * 30, "invalid"), ("5000000", "too_large"),
    ],
)
def test_bad_amounts_are_refused(text, code):
    with pytest.raises(ValidationError) as error:
        parse_euros(text)
    assert error.value.code == code


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1.5", 90), ("1,5", 90), ("2", 120), ("0.25", 15), ("1:20", 80), ("1h20", 80), ("3h", 180),
     ("0:05", 5), ("100", 6000)],
)
def test_hours_become_exact_minutes(text, minutes):
    assert parse_hours(text) == minutes


@pytest.mark.parametrize(
    ("text", "code"),
    [("1.33", "minutes"), ("0", "zero"), ("0:00", "zero"), ("-1", "negative"), ("1:75", "invalid"),
     ("lots", "invalid"), ("101", "too_large"), ("1e2", "invalid")],
)
def test_bad_hours_are_refused(text, code):
    with pytest.raises(ValidationError) as error:
        parse_hours(text)
    assert error.value.code == code


@pytest.mark.parametrize("cents", [0, 5, 100, 1250, 1999, 10_000_000])
def test_euros_shown_in_a_form_read_back_the_same(cents):
    assert parse_euros(format_euros(cents) or "0") == cents


@pytest.mark.parametrize("minutes", [5, 15, 80, 90, 120, 6000])
def test_hours_shown_in_a_form_read_back_the_same(minutes):
    assert parse_hours(format_hours(minutes)) == minutes


# --- the listing form ------------------------------------------------------------------


def item_post(**changes) -> dict:
    data = {
        "terms": "lend", "title": "Cordless drill", "description": "Two batteries.",
        "category": str(category("power-tools").pk), "condition": "good", "price": "",
        "deposit": "", "town": "",
    }
    data.update(changes)
    return data


def ride_post(**changes) -> dict:
    data = {
        "title": "Annecy to Geneva", "description": "Monday.", "category": str(category("carpool").pk),
        "origin": "Annecy", "destination": "Genève", "seats": "3", "price": "4,50",
        "departs_at": (timezone.localtime() + timedelta(days=2)).strftime(LOCAL),
    }
    data.update(changes)
    return data


def service_post(**changes) -> dict:
    data = {
        "terms": "barter", "title": "Italian lessons", "description": "Conversation.",
        "category": str(category("languages").pk), "service_place": "remote", "duration": "1",
        "hours": "1.5", "town": "",
    }
    data.update(changes)
    return data


def submit(member, kind: str, post: dict, listing=None) -> tuple[ListingForm, Listing | None]:
    """Validate like the views do: form first, then the service, errors mapped back."""
    form = ListingForm(post, kind=kind, owner=member, listing=listing)
    if not form.is_valid():
        return form, None
    try:
        if listing is None:
            saved = services.listing_create(owner=member, kind=kind, data=form.listing_data())
        else:
            saved = services.listing_update(listing=listing, by=member, data=form.listing_data())
    except ValidationError as error:
        form.add_service_errors(error)
        return form, None
    return form, saved


def test_an_item_form_builds_a_listing_in_cents(member):
    form, listing = submit(member, Kind.ITEM, item_post(price="2,50", deposit="80", town="Annecy"))
    assert form.errors == {}
    assert (listing.price_cents, listing.deposit_cents, listing.place_name) == (250, 8000, "Annecy (FR)")


def test_a_ride_form_resolves_its_towns(member):
    form, ride = submit(member, Kind.RIDE, ride_post(luggage_ok="on"))
    assert form.errors == {}
    assert (ride.origin_name, ride.destination_name) == ("Annecy (FR)", "Geneva (CH)")
    assert (ride.terms, ride.seats, ride.price_cents, ride.luggage_ok, ride.pets_ok) == (
        Terms.SHARE, 3, 450, True, False
    )


def test_a_service_form_takes_hours_as_minutes(member):
    form, service = submit(member, Kind.SERVICE, service_post(hours="1:20", duration="0.5"))
    assert form.errors == {}
    assert (service.hours_minutes, service.duration_minutes) == (80, 30)


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("-3", "cannot be negative"), ("3.999", "two decimals"), ("abc", "amount in euros"),
        ("250000", "more than"),
    ],
)
def test_a_bad_price_shows_next_to_the_price(member, price, message):
    form, listing = submit(member, Kind.ITEM, item_post(terms="sell", price=price))
    assert listing is None
    assert message in " ".join(form.errors["price"])


def test_selling_without_a_price_shows_next_to_the_price(member):
    form, listing = submit(member, Kind.ITEM, item_post(terms="sell", price=""))
    assert listing is None
    assert form.errors["price"] == ["Set a price to sell."]


def test_a_gift_with_a_price_is_refused(member):
    form, _ = submit(member, Kind.ITEM, item_post(terms="give", price="5"))
    assert form.errors["price"] == ["A gift has no price."]


def test_a_deposit_is_only_for_a_loan(member):
    form, _ = submit(member, Kind.ITEM, item_post(terms="swap", deposit="20"))
    assert form.errors["deposit"] == ["Only a loan can ask for a deposit."]
    form, listing = submit(member, Kind.ITEM, item_post(terms="lend", deposit="20"))
    assert listing.deposit_cents == 2000


def test_a_barter_without_hours_is_refused(member):
    form, _ = submit(member, Kind.SERVICE, service_post(hours=""))
    assert form.errors["hours"] == ["Say how many hours you ask."]


def test_terms_that_do_not_fit_the_kind_are_refused(member):
    form, _ = submit(member, Kind.SERVICE, service_post(terms="sell"))
    assert "terms" in form.errors
    form, _ = submit(member, Kind.ITEM, item_post(terms="barter"))
    assert "terms" in form.errors
    assert not Listing.objects.exists()


def test_only_the_terms_of_the_kind_are_offered(member):
    form = ListingForm(kind=Kind.ITEM, owner=member)
    assert [value for value, _ in form.fields["terms"].choices] == ["lend", "give", "swap", "sell"]
    assert "terms" not in ListingForm(kind=Kind.RIDE, owner=member).fields


def test_a_ride_in_the_past_is_refused(member):
    past = (timezone.localtime() - timedelta(hours=1)).strftime(LOCAL)
    form, _ = submit(member, Kind.RIDE, ride_post(departs_at=past))
    assert form.errors["departs_at"] == ["The departure must be in the future."]


@pytest.mark.parametrize("seats", ["0", "9", "-1", "many"])
def test_a_ride_offers_one_to_eight_seats(member, seats):
    form, _ = submit(member, Kind.RIDE, ride_post(seats=seats))
    assert "seats" in form.errors


def test_an_unknown_town_is_refused_next_to_its_field(member):
    form, _ = submit(member, Kind.RIDE, ride_post(origin="Nowhere-sur-Rien"))
    assert "We do not know this town" in form.errors["origin"][0]
    form, _ = submit(member, Kind.ITEM, item_post(town="Nowhere-sur-Rien"))
    assert "We do not know this town" in form.errors["town"][0]
    assert not Listing.objects.exists()


def test_a_town_can_name_its_country(member):
    form, listing = submit(member, Kind.ITEM, item_post(town="Geneva (CH)"))
    assert listing.place_name == "Geneva (CH)"


def test_categories_are_grouped_by_parent(member):
    choices = ListingForm(kind=Kind.ITEM, owner=member).fields["category"].choices
    groups = dict(choice for choice in choices if isinstance(choice[1], list))
    assert (category("power-tools").pk, "Power tools") in groups["Tools"]
    assert "Rides" not in groups
    ride_choices = ListingForm(kind=Kind.RIDE, owner=member).fields["category"].choices
    assert [label for label, options in ride_choices if isinstance(options, list)] == ["Rides"]


def _groups(kind, member) -> list[str]:
    choices = ListingForm(kind=kind, owner=member).fields["category"].choices
    # A group is (its label, its options); a top without children is (pk, label).
    return [first if isinstance(second, list) else second for first, second in choices[1:]]


def test_each_kind_offers_its_own_categories_first(member):
    services = ["Home services", "Lessons", "Care", "Repairs"]
    things = ["Tools", "Garden", "Kitchen", "Kids", "Sports and outdoors", "Electronics",
              "Books and media", "Home and furniture"]
    assert _groups(Kind.SERVICE, member) == [*services, *things, "Other"]
    assert _groups(Kind.ITEM, member) == [*things, *services, "Other"]
    # A wanted post may ask for either: the tree's own order.
    assert _groups(Kind.WANTED, member)[:2] == ["Tools", "Garden"]


def test_a_category_outside_the_kind_is_refused(member):
    form, _ = submit(member, Kind.RIDE, ride_post(category=str(category("power-tools").pk)))
    assert "category" in form.errors


def test_the_edit_form_shows_euros_and_hours(member):
    _, listing = submit(member, Kind.SERVICE, service_post(hours="1:20"))
    html = str(ListingForm(kind=Kind.SERVICE, owner=member, listing=listing)["hours"])
    assert 'value="1:20"' in html


def test_editing_a_ride_that_left_keeps_its_departure(member):
    left = timezone.now() - timedelta(hours=3)
    ride = RideFactory(owner=member, departs_at=left, origin_name="Annecy (FR)")
    form = ListingForm(kind=Kind.RIDE, owner=member, listing=ride)
    post = {name: form[name].value() for name in form.fields}
    post = {k: ("" if v is None else v) for k, v in post.items() if v is not False}
    post["departs_at"] = timezone.localtime(left).strftime(LOCAL)
    post["title"] = "Renamed ride"
    form, saved = submit(member, Kind.RIDE, post, listing=ride)
    assert form.errors == {}
    assert saved.title == "Renamed ride" and saved.departs_at == left
