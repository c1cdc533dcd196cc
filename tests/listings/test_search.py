"""The browse/search page: /listings/ with its filters, sorting, htmx and pagination."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import geo
from listings.models import Kind, Listing, Photo, Status, Terms
from members.services import member_share_location
from tests.factories import ListingFactory, MemberFactory, RideFactory, ServiceFactory, category

pytestmark = pytest.mark.django_db

URL = reverse("listings:list")
ANNECY = (45.8992, 6.1294)
GENEVA = (46.2044, 6.1432)  # about 34 km north of Annecy
LYON = (45.764, 4.835)  # about 100 km west


def titles(response) -> list[str]:
    return [listing.title for listing in response.context["page_obj"]]


def field_errors(response, name: str) -> list[str]:
    return list(response.context["form"].errors.get(name, []))


def place(lat_lng: tuple[float, float], **kwargs) -> Listing:
    lat, lng = lat_lng
    return ListingFactory(lat=lat, lng=lng, **kwargs)


# -- visibility -------------------------------------------------------------------------


def test_anonymous_visitors_can_browse(client):
    ListingFactory(title="Garden ladder")

    response = client.get(URL)

    assert response.status_code == 200
    assert "Garden ladder" in response.content.decode()
    assert titles(response) == ["Garden ladder"]


def test_it_hides_paused_closed_and_removed_listings_and_departed_rides(client):
    ListingFactory(title="Shown drill")
    RideFactory(title="Shown ride")
    for status in (Status.PAUSED, Status.CLOSED, Status.REMOVED):
        ListingFactory(title=f"Hidden {status}", status=status)
    RideFactory(title="Departed ride", departs_at=timezone.now() - timedelta(minutes=5))

    response = client.get(URL)

    assert sorted(titles(response)) == ["Shown drill", "Shown ride"]
    assert "Hidden" not in response.content.decode()
    assert "Departed ride" not in response.content.decode()


def test_newest_listings_come_first_by_default(client):
    now = timezone.now()
    ListingFactory(title="Old", created_at=now - timedelta(days=3))
    ListingFactory(title="New", created_at=now)
    ListingFactory(title="Middle", created_at=now - timedelta(days=1))

    assert titles(client.get(URL)) == ["New", "Middle", "Old"]


# -- text search ------------------------------------------------------------------------


def test_text_search_matches_words_in_the_title_or_the_description(client):
    ListingFactory(title="Cordless drill", description="Two spare batteries.")
    ListingFactory(title="Ladder", description="Aluminium, reaches the gutter; drill not included.")
    ListingFactory(title="Lawn mower", description="Petrol, recently serviced.")

    response = client.get(URL, {"q": "drill"})

    assert sorted(titles(response)) == ["Cordless drill", "Ladder"]
    assert "Lawn mower" not in response.content.decode()


def test_text_search_is_case_insensitive(client):
    ListingFactory(title="Cordless Drill")

    assert titles(client.get(URL, {"q": "DRILL"})) == ["Cordless Drill"]


def test_text_search_needs_every_word(client):
    ListingFactory(title="Cordless drill", description="Comes with a spare battery.")
    ListingFactory(title="Hammer drill", description="Corded, very strong.")
    ListingFactory(title="Battery charger", description="For AA cells.")

    response = client.get(URL, {"q": "drill battery"})

    assert titles(response) == ["Cordless drill"]


def test_text_search_understands_minus_and_or(client):
    for title in ("Cordless drill", "Hammer drill", "Circular saw", "Sander"):
        ListingFactory(title=title, description="In good order.")

    assert titles(client.get(URL, {"q": "drill -hammer"})) == ["Cordless drill"]
    assert sorted(titles(client.get(URL, {"q": "drill or saw"}))) == [
        "Circular saw", "Cordless drill", "Hammer drill",
    ]


def test_text_search_without_matches_shows_the_empty_state(client):
    ListingFactory(title="Cordless drill")

    response = client.get(URL, {"q": "trampoline"})

    body = response.content.decode()
    assert titles(response) == []
    assert "Nothing matches “trampoline” yet." in body
    assert "0 listings" in body


def test_a_search_sorts_by_relevance_unless_asked_otherwise(client):
    ListingFactory(title="Drill")

    response = client.get(URL, {"q": "drill"})

    assert response.context["filter"].sort_order == "relevance"
    assert '<option value="relevance" selected>' in response.content.decode()


def test_relevance_puts_the_best_match_first(client, is_postgres):
    if not is_postgres:
        pytest.skip("ranking needs PostgreSQL full-text search")
    now = timezone.now()
    ListingFactory(title="Bag", description="A bag, holds a drill.", created_at=now)
    ListingFactory(title="Drill", description="A drill, drill bits, drill case.",
                   created_at=now - timedelta(days=5))

    response = client.get(URL, {"q": "drill", "sort": "relevance"})

    assert titles(response) == ["Drill", "Bag"]


def test_relevance_without_words_falls_back_to_newest_with_a_notice(client):
    now = timezone.now()
    ListingFactory(title="Old", created_at=now - timedelta(days=1))
    ListingFactory(title="New", created_at=now)

    response = client.get(URL, {"sort": "relevance"})

    assert titles(response) == ["New", "Old"]
    assert "Best match needs search words" in response.content.decode()


def test_text_search_on_postgres_uses_the_gin_index(is_postgres):
    if not is_postgres:
        pytest.skip("the GIN index exists on PostgreSQL only")
    from listings.selectors import search_text

    # A catalogue's worth of listings (copies of one, in SQL: seconds, not minutes), so
    # the planner's choice means something.
    original = ListingFactory(title="Garden hose", description="Twenty metres.")
    columns = ", ".join(f'"{f.column}"' for f in Listing._meta.concrete_fields
                        if not f.primary_key)
    queryset = search_text(Listing.objects.all(), "drill")
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO listings_listing ({columns}) SELECT {columns} "
                       "FROM listings_listing, generate_series(1, 20000) WHERE id = %s",
                       [original.pk])
        cursor.execute("ANALYZE listings_listing")
        # The tsquery is a parameter (computed once, see search_query): the planner
        # guesses its selectivity. Leave it only the ways that read an index's matches.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Bitmap Index Scan on listing_search_vector_gin" in plan, plan


def test_the_planner_knows_where_rides_go_on_postgres(is_postgres, alice):
    """Destinations are towns: latitude and longitude go together. Without the extended
    statistics (migration 0008) the planner multiplies the two ranges' selectivities and
    expects 1/64 of the rides to go to one of 8 towns instead of 1/8."""
    if not is_postgres:
        pytest.skip("extended statistics are a PostgreSQL feature")
    template = RideFactory.build(owner=alice)
    towns = [(46.20 + n * 0.5, 6.14 + n * 0.5) for n in range(8)]
    rides = []
    for n in range(800):
        lat, lng = towns[n % 8]
        ride = Listing(**{f.attname: getattr(template, f.attname)
                          for f in Listing._meta.concrete_fields if not f.primary_key})
        ride.destination_lat, ride.destination_lng = lat, lng
        rides.append(ride)
    Listing.objects.bulk_create(rides)
    queryset = Listing.objects.filter(
        destination_lat__gte=46.1, destination_lat__lte=46.3,
        destination_lng__gte=6.0, destination_lng__lte=6.3,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Listing._meta.db_table}")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        estimate = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]

    assert queryset.count() == 100
    assert estimate >= 50


# -- kind, terms, category --------------------------------------------------------------


def test_it_filters_by_kind(client):
    ListingFactory(title="Drill")
    RideFactory(title="Ride")
    ServiceFactory(title="Lessons")

    assert titles(client.get(URL, {"kind": Kind.RIDE})) == ["Ride"]
    assert titles(client.get(URL, {"kind": Kind.SERVICE})) == ["Lessons"]


def test_it_filters_by_terms(client):
    ListingFactory(title="Lent", terms=Terms.LEND)
    ListingFactory(title="Given", terms=Terms.GIVE)
    ListingFactory(title="Sold", terms=Terms.SELL, price_cents=1000)

    assert titles(client.get(URL, {"terms": Terms.GIVE})) == ["Given"]
    assert titles(client.get(URL, {"kind": Kind.ITEM, "terms": Terms.SELL})) == ["Sold"]


def test_a_parent_category_includes_its_children(client):
    ListingFactory(title="Power drill", category=category("power-tools"))
    ListingFactory(title="Hammer", category=category("hand-tools"))
    ListingFactory(title="Rake", category=category("garden-tools"))

    assert sorted(titles(client.get(URL, {"category": "tools"}))) == ["Hammer", "Power drill"]
    assert titles(client.get(URL, {"category": "hand-tools"})) == ["Hammer"]


def test_an_unknown_category_is_a_field_error_and_is_ignored(client):
    ListingFactory(title="Hammer", category=category("hand-tools"))

    response = client.get(URL, {"category": "no-such-thing"})

    assert response.status_code == 200
    assert field_errors(response, "category")
    assert titles(response) == ["Hammer"]


def test_an_unknown_kind_is_a_field_error_and_is_ignored(client):
    ListingFactory(title="Hammer")

    response = client.get(URL, {"kind": "spaceship"})

    assert field_errors(response, "kind")
    assert titles(response) == ["Hammer"]


# -- price --------------------------------------------------------------------------------


def test_it_filters_by_a_price_range_in_euros(client):
    for cents in (499, 500, 1250, 1251):
        ListingFactory(title=f"At {cents}", terms=Terms.SELL, price_cents=cents)

    response = client.get(URL, {"price_min": "5", "price_max": "12.50"})

    assert sorted(titles(response)) == ["At 1250", "At 500"]


def test_a_price_may_use_a_decimal_comma(client):
    ListingFactory(title="Cheap", terms=Terms.SELL, price_cents=1250)
    ListingFactory(title="Dear", terms=Terms.SELL, price_cents=1300)

    assert titles(client.get(URL, {"price_max": "12,50"})) == ["Cheap"]


def test_sorting_by_price_puts_the_cheapest_first(client):
    ListingFactory(title="Dear", terms=Terms.SELL, price_cents=3000)
    ListingFactory(title="Free", terms=Terms.GIVE, price_cents=0)
    ListingFactory(title="Cheap", terms=Terms.SELL, price_cents=200)

    assert titles(client.get(URL, {"sort": "price"})) == ["Free", "Cheap", "Dear"]


@pytest.mark.parametrize("bad", ["abc", "-3", "1.234", "12.50.1"])
def test_a_bad_price_is_a_field_error_and_is_ignored(client, bad):
    ListingFactory(title="Dear", terms=Terms.SELL, price_cents=9000)

    response = client.get(URL, {"price_max": bad})

    assert response.status_code == 200
    assert field_errors(response, "price_max")
    assert titles(response) == ["Dear"]
    body = response.content.decode()
    assert "Some filters could not be used and were ignored" in body
    assert 'class="field field-error"' in body


def test_a_minimum_above_the_maximum_is_refused(client):
    ListingFactory(title="Ten", terms=Terms.SELL, price_cents=1000)

    response = client.get(URL, {"price_min": "20", "price_max": "5"})

    assert "The maximum price is below the minimum." in field_errors(response, "price_max")
    assert titles(response) == []  # the valid minimum still applies


# -- distance -----------------------------------------------------------------------------


def test_near_a_town_includes_listings_within_the_radius_only(client):
    place(ANNECY, title="In Annecy")
    place(GENEVA, title="In Geneva")
    place(LYON, title="In Lyon")
    ListingFactory(title="Nowhere", lat=None, lng=None, place_name="")

    assert titles(client.get(URL, {"near": "Annecy", "radius": "10"})) == ["In Annecy"]
    assert sorted(titles(client.get(URL, {"near": "Annecy", "radius": "50"}))) == [
        "In Annecy", "In Geneva",
    ]


def test_the_default_radius_is_ten_km(client):
    place(ANNECY, title="In Annecy")
    place(GENEVA, title="In Geneva")

    response = client.get(URL, {"near": "Annecy"})

    assert titles(response) == ["In Annecy"]
    assert '<option value="10" selected>' in response.content.decode()
    assert "within 10 km of Annecy (FR)" in response.content.decode()


def test_each_result_carries_its_distance_and_the_card_shows_it(client):
    place(GENEVA, title="In Geneva")

    response = client.get(URL, {"near": "Annecy", "radius": "50"})

    [geneva] = list(response.context["page_obj"])
    town = geo.find_town("Annecy")
    expected = geo.haversine_km(town.point, geo.Point(*GENEVA))
    assert isinstance(geneva.distance_km, float)
    assert abs(geneva.distance_km - expected) < 1.5
    assert f"about {round(geneva.distance_km)} km" in response.content.decode()


def test_distance_uses_the_approximate_location_only(client):
    # The exact point is in Lyon, the public approximation in Annecy: search sees Annecy.
    ListingFactory(title="Approximated", lat=LYON[0], lng=LYON[1],
                   approx_lat=ANNECY[0], approx_lng=ANNECY[1])

    assert titles(client.get(URL, {"near": "Annecy", "radius": "2"})) == ["Approximated"]
    assert titles(client.get(URL, {"near": "Lyon", "radius": "50"})) == []


def test_sorting_by_nearest_orders_by_distance(client):
    now = timezone.now()
    place(GENEVA, title="Far", created_at=now)
    place(ANNECY, title="Near", created_at=now - timedelta(days=2))
    place((45.95, 6.13), title="Middle", created_at=now - timedelta(days=1))

    response = client.get(URL, {"near": "Annecy", "radius": "50", "sort": "nearest"})

    assert titles(response) == ["Near", "Middle", "Far"]
    distances = [listing.distance_km for listing in response.context["page_obj"]]
    assert distances == sorted(distances)


def test_sorting_by_nearest_without_a_place_falls_back_to_newest_with_a_notice(client):
    now = timezone.now()
    place(GENEVA, title="New", created_at=now)
    place(ANNECY, title="Old", created_at=now - timedelta(days=2))

    response = client.get(URL, {"sort": "nearest"})

    assert titles(response) == ["New", "Old"]
    assert "Sorting by distance needs a place" in response.content.decode()


def test_an_unknown_town_is_a_field_error_and_is_ignored(client):
    place(LYON, title="In Lyon")

    response = client.get(URL, {"near": "Atlantis-sur-Mer"})

    assert response.status_code == 200
    assert "We do not know the town" in " ".join(field_errors(response, "near"))
    assert titles(response) == ["In Lyon"]


def test_a_radius_not_offered_is_a_field_error_and_the_default_applies(client):
    place(ANNECY, title="In Annecy")
    place(GENEVA, title="In Geneva")

    response = client.get(URL, {"near": "Annecy", "radius": "7000"})

    assert field_errors(response, "radius")
    assert titles(response) == ["In Annecy"]


def test_near_me_uses_the_location_a_member_shared(client, member):
    member_share_location(member=member, town="Annecy")
    place(ANNECY, title="In Annecy")
    place(GENEVA, title="In Geneva")
    client.force_login(member)

    response = client.get(URL, {"near": "me", "radius": "10"})

    assert not field_errors(response, "near")
    assert titles(response) == ["In Annecy"]
    assert "within 10 km of your area" in response.content.decode()


def test_near_me_uses_the_members_approximate_point_not_their_home(client):
    member = MemberFactory(location_consent=True, home_lat=LYON[0], home_lng=LYON[1],
                           approx_lat=ANNECY[0], approx_lng=ANNECY[1])
    place(ANNECY, title="In Annecy")
    client.force_login(member)

    assert titles(client.get(URL, {"near": "me", "radius": "1"})) == ["In Annecy"]


def test_near_me_without_consent_is_a_clear_field_error(member_client):
    place(ANNECY, title="In Annecy")
    place(LYON, title="In Lyon")

    response = member_client.get(URL, {"near": "me"})

    assert response.status_code == 200
    assert "You have not shared your location" in " ".join(field_errors(response, "near"))
    assert sorted(titles(response)) == ["In Annecy", "In Lyon"]
    assert reverse("members:location") in response.content.decode()


def test_near_me_for_an_anonymous_visitor_asks_to_log_in(client):
    response = client.get(URL, {"near": "me"})

    assert response.status_code == 200
    assert "Log in and share your location" in " ".join(field_errors(response, "near"))


def test_members_who_shared_their_location_get_a_near_me_shortcut(client, member):
    client.force_login(member)
    assert "Search around my location" not in client.get(URL).content.decode()

    member_share_location(member=member, town="Annecy")

    assert "Search around my location" in client.get(URL).content.decode()


# -- rides -----------------------------------------------------------------------------


def test_rides_filter_on_origin_and_destination(client):
    RideFactory(title="Annecy to Geneva")
    RideFactory(title="Lyon to Geneva", origin_name="Lyon (FR)", origin_lat=LYON[0],
                origin_lng=LYON[1])
    RideFactory(title="Annecy to Lyon", destination_name="Lyon (FR)",
                destination_lat=LYON[0], destination_lng=LYON[1])

    assert sorted(titles(client.get(URL, {"origin_near": "Annecy"}))) == [
        "Annecy to Geneva", "Annecy to Lyon",
    ]
    assert sorted(titles(client.get(URL, {"destination_near": "Geneva"}))) == [
        "Annecy to Geneva", "Lyon to Geneva",
    ]
    assert titles(client.get(URL, {"origin_near": "Annecy", "destination_near": "Geneva"})) == [
        "Annecy to Geneva",
    ]


def test_rides_filter_on_the_departure_date(client):
    tomorrow = timezone.localtime() + timedelta(days=1)
    later = timezone.localtime() + timedelta(days=4)
    RideFactory(title="Tomorrow", departs_at=tomorrow)
    RideFactory(title="Later", departs_at=later)
    ListingFactory(title="Not a ride")

    response = client.get(URL, {"date": tomorrow.date().isoformat()})

    assert titles(response) == ["Tomorrow"]


def test_a_bad_date_is_a_field_error_and_is_ignored(client):
    RideFactory(title="A ride")

    response = client.get(URL, {"date": "2025-13-45"})

    assert response.status_code == 200
    assert field_errors(response, "date")
    assert titles(response) == ["A ride"]


def test_an_unknown_ride_town_is_a_field_error(client):
    response = client.get(URL, {"origin_near": "Nowhereville", "destination_near": "Zzyzx"})

    assert response.status_code == 200
    assert field_errors(response, "origin_near")
    assert field_errors(response, "destination_near")


# -- the page: form, htmx, pagination, queries --------------------------------------------


def test_the_filter_form_works_without_javascript_and_every_input_has_a_label(client):
    body = client.get(URL).content.decode()

    assert '<details class="filters"' in body
    assert 'method="get"' in body
    assert "Show results" in body
    form = body[body.index('class="filter-form"'):body.index("</form>", body.index('class="filter-form"'))]
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', form)
    assert len(ids) == 13  # 12 + the minimum owner rating (reviews)
    for field_id in ids:
        assert f'for="{field_id}"' in form


def test_the_filter_form_is_wired_for_htmx(client):
    body = client.get(URL).content.decode()

    assert f'hx-get="{URL}"' in body
    assert 'hx-target="#results"' in body
    assert 'hx-push-url="true"' in body
    assert "keyup changed delay:500ms from:#id_q" in body


def test_an_htmx_request_gets_only_the_results(client):
    ListingFactory(title="Drill")

    response = client.get(URL, {"q": "drill"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "listings/_results.html"
    assert "<html" not in body
    assert 'id="results"' in body
    assert "Drill" in body
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_with_bad_input_refreshes_the_field_errors(client):
    response = client.get(URL, {"price_min": "lots"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_price_min_errors" hx-swap-oob="true"' in body
    assert "Enter an amount in euros" in body


def test_a_history_restore_gets_the_full_page(client):
    response = client.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" in response.content.decode()


def test_pagination_preserves_the_query(client, settings):
    settings.LISTINGS_PAGE_SIZE = 2
    now = timezone.now()
    for n in range(5):
        ListingFactory(title=f"Drill {n}", created_at=now - timedelta(hours=n))
    ServiceFactory(title="Not a drill service")

    first = client.get(URL, {"kind": "item", "q": "drill"})
    body = first.content.decode()
    assert titles(first) == ["Drill 0", "Drill 1"]
    assert "5 listings" in body
    assert 'href="?kind=item&amp;q=drill&amp;page=2"' in body

    second = client.get(URL, {"kind": "item", "q": "drill", "page": "2", "sort": "newest"})
    assert titles(second) == ["Drill 2", "Drill 3"]
    third = client.get(URL, {"kind": "item", "q": "drill", "page": "99", "sort": "newest"})
    assert titles(third) == ["Drill 4"]


def _listings_with_photos(count: int) -> None:
    for _ in range(count):
        listing = ListingFactory()
        for position in range(2):
            Photo.objects.create(
                listing=listing, image="listings/x.webp", thumbnail="listings/x-thumb.webp",
                width=480, height=360, position=position,
            )


def _count_queries(client, params: dict) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(captured), len(response.context["page_obj"])


@pytest.mark.parametrize("params", [{}, {"q": "drill", "near": "Annecy", "sort": "nearest"}])
def test_the_number_of_queries_does_not_grow_with_the_page(client, settings, params):
    settings.LISTINGS_PAGE_SIZE = 50
    _listings_with_photos(5)
    few, shown_few = _count_queries(client, params)
    _listings_with_photos(20)
    many, shown_many = _count_queries(client, params)

    assert (shown_few, shown_many) == (5, 25)
    assert few == many
    assert many <= 6
    assert "x-thumb.webp" in client.get(URL, params).content.decode()


@pytest.mark.parametrize("text", ["drill's", "(drill | saw) & !", '"unclosed', "-", "a:b*", "or"])
def test_odd_search_text_never_crashes(client, text):
    ListingFactory(title="Cordless drill")

    response = client.get(URL, {"q": text})

    assert response.status_code == 200


def test_kind_tabs_keep_the_query_but_reset_the_page_and_terms(client, settings):
    response = client.get(URL, {"q": "drill", "kind": "ride", "terms": "share", "page": "2"})

    body = response.content.decode()
    assert f'href="{URL}?q=drill&amp;kind=item"' in body
    assert f'href="{URL}?q=drill" aria-current' not in body
    assert f'href="{URL}?q=drill&amp;kind=ride" aria-current="true"' in body


# -- the capped count -------------------------------------------------------------------


def _newest_first(count: int) -> None:
    now = timezone.now()
    for n in range(count):
        ListingFactory(title=f"Lamp {n}", created_at=now - timedelta(hours=n))


def test_the_count_stops_at_the_cap_and_says_so(client, settings):
    settings.LISTINGS_PAGE_SIZE = 2
    settings.LISTINGS_COUNT_CAP = 5
    _newest_first(8)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)

    body = response.content.decode()
    assert "More than 5 listings" in body
    assert "8 listings" not in body
    # The count reads at most cap + 1 rows, whatever the catalogue holds.
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 6" in counts[0]
    # Numbered links up to the cap (5 rows: 3 pages), then an ellipsis, and Next.
    assert 'href="?page=3"' in body and 'href="?page=4"' not in body
    assert body.count('<span aria-hidden="true">…</span>') == 1
    assert 'rel="next" href="?page=2"' in body


def test_the_count_is_exact_below_the_cap(client, settings):
    settings.LISTINGS_PAGE_SIZE = 2
    settings.LISTINGS_COUNT_CAP = 5
    _newest_first(5)

    body = client.get(URL).content.decode()

    assert "5 listings" in body and "More than" not in body
    assert '<span aria-hidden="true">…</span>' not in body


def test_pages_past_the_cap_work_while_there_are_rows(client, settings):
    settings.LISTINGS_PAGE_SIZE = 2
    settings.LISTINGS_COUNT_CAP = 5
    _newest_first(9)

    fourth = client.get(URL, {"page": "4"})
    last = client.get(URL, {"page": "5"})

    assert titles(fourth) == ["Lamp 6", "Lamp 7"]
    assert 'rel="next" href="?page=5"' in fourth.content.decode()
    assert 'rel="prev" href="?page=3"' in fourth.content.decode()
    assert titles(last) == ["Lamp 8"]
    assert 'rel="next"' not in last.content.decode()
    # Beyond the last row: the last numbered page, as Django's own paginator does.
    assert titles(client.get(URL, {"page": "50"})) == ["Lamp 4", "Lamp 5"]
    assert client.get(URL, {"page": "nope"}).status_code == 200


def test_the_capped_count_is_translated(client, settings):
    settings.LISTINGS_PAGE_SIZE = 2
    settings.LISTINGS_COUNT_CAP = 3
    _newest_first(4)

    body = client.get(URL, headers={"Accept-Language": "fr"}).content.decode()

    assert "Plus de 3 annonces" in body


def test_the_cap_is_written_the_way_the_language_writes_numbers():
    from django.utils import translation

    from core.pagination import CappedPaginator

    paginator = CappedPaginator(Listing.objects.all(), 20, cap=1000)
    with translation.override("en"):
        assert paginator.cap_label == "1,000"
    with translation.override("fr"):
        assert paginator.cap_label.replace("\u202f", " ").replace("\xa0", " ") == "1 000"
