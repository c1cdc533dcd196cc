"""/members/me/location/: sharing a home location, only with consent, and withdrawing it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core import geo
from members.models import ConsentRecord, Member
from members.services import member_share_location, member_withdraw_location

URL = reverse("members:location")
WITHDRAW_URL = reverse("members:location-withdraw")


def _location_fields(member: Member) -> tuple:
    member.refresh_from_db()
    return (member.location_consent, member.home_lat, member.home_lng,
            member.approx_lat, member.approx_lng, member.home_place)


NOTHING_STORED = (False, None, None, None, None, "")


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_anonymous_withdrawal_goes_to_log_in(client, db):
    response = client.post(WITHDRAW_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_says_nothing_is_shared_at_first(member_client, member):
    response = member_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not sharing" in html
    assert "You have never shared a location." in html
    assert '<datalist id="town-suggestions">' in html
    assert "data-geolocate" in html
    assert f'hx-get="{reverse("members:towns")}"' in html
    assert "<script" not in html.split("<main", 1)[1]
    assert " onclick=" not in html


def test_it_requires_consent(member_client, member):
    response = member_client.post(URL, {"town": "Annecy"})
    assert response.status_code == 200
    assert response.context["form"].errors["consent"]
    assert b"Tick the box to agree" in response.content
    assert _location_fields(member) == NOTHING_STORED
    assert not ConsentRecord.objects.exists()


def test_it_stores_a_known_town_with_consent(member_client, member):
    response = member_client.post(URL, {"town": "annecy", "consent": "on"})
    assert response.status_code == 302
    assert response["Location"] == URL
    town = geo.find_town("Annecy")
    approx = geo.approximate(town.lat, town.lng)
    assert _location_fields(member) == (
        True, town.lat, town.lng, approx.lat, approx.lng, "Annecy (FR)",
    )
    record = ConsentRecord.objects.get(member=member)
    assert record.kind == ConsentRecord.Kind.LOCATION
    assert record.granted is True
    assert timezone.now() - record.at < timedelta(minutes=1)


def test_it_accepts_a_suggested_label_with_its_country(member_client, member):
    response = member_client.post(URL, {"town": "Paris (US)", "consent": "on"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.home_place == "Paris (US)"


def test_it_refuses_an_unknown_town(member_client, member):
    response = member_client.post(URL, {"town": "Nowhereville-sur-Mer", "consent": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors["town"] == [
        "We do not know this town. Try a larger one nearby."
    ]
    assert _location_fields(member) == NOTHING_STORED
    assert not ConsentRecord.objects.exists()


def test_it_stores_coordinates_from_the_browser(member_client, member):
    response = member_client.post(
        URL, {"town": "", "lat": "45.899234", "lng": "6.129456", "consent": "on"}
    )
    assert response.status_code == 302
    approx = geo.approximate(45.899234, 6.129456)
    assert _location_fields(member) == (
        True, 45.899234, 6.129456, approx.lat, approx.lng, "Annecy (FR)",
    )
    assert ConsentRecord.objects.filter(member=member, granted=True).count() == 1


def test_the_public_point_is_within_about_500_m(member):
    member_share_location(member=member, lat=45.899234, lng=6.129456)
    member.refresh_from_db()
    exact = geo.Point(member.home_lat, member.home_lng)
    assert (member.approx_lat, member.approx_lng) != (exact.lat, exact.lng)
    assert geo.haversine_km(exact, member.approx_point) < 0.5


def test_a_point_far_from_any_town_gets_no_town_label(member):
    member_share_location(member=member, lat=-30.0, lng=-140.0)  # South Pacific
    member.refresh_from_db()
    assert member.has_location
    assert member.home_place == ""


@pytest.mark.parametrize(
    ("lat", "lng"),
    [("91", "6.1"), ("-90.5", "6.1"), ("45.9", "181"), ("45.9", "-180.01"),
     ("nan", "6.1"), ("45.9", "inf"), ("north", "6.1"), ("45.9", "")],
)
def test_it_refuses_invalid_coordinates(member_client, member, lat, lng):
    response = member_client.post(URL, {"lat": lat, "lng": lng, "consent": "on"})
    assert response.status_code == 200
    assert b"Your position could not be read" in response.content
    assert _location_fields(member) == NOTHING_STORED
    assert not ConsentRecord.objects.exists()


def test_it_asks_for_a_town_or_a_position(member_client, member):
    response = member_client.post(URL, {"town": "  ", "consent": "on"})
    assert response.status_code == 200
    assert b"Choose a town or share your position." in response.content
    assert _location_fields(member) == NOTHING_STORED


def test_the_service_refuses_invalid_coordinates(member):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        member_share_location(member=member, lat=91.0, lng=6.0)
    assert _location_fields(member) == NOTHING_STORED


def test_moving_while_consenting_records_consent_once(member_client, member):
    member_client.post(URL, {"town": "Annecy", "consent": "on"})
    member_client.post(URL, {"town": "Chambéry", "consent": "on"})
    member.refresh_from_db()
    assert member.home_place == "Chambéry (FR)"
    assert ConsentRecord.objects.filter(member=member).count() == 1


def test_the_page_shows_what_is_shared_and_since_when(member_client, member):
    member_client.post(URL, {"town": "Annecy", "consent": "on"})
    record = ConsentRecord.objects.get(member=member)
    response = member_client.get(URL)
    html = response.content.decode()
    local = timezone.localtime(record.at)
    assert "Sharing" in html
    assert "approx. near Annecy (FR)" in html
    assert f"Consent given on {local:%-d %B %Y, %H:%M}." in html
    assert WITHDRAW_URL in html
    assert str(member.home_lat) not in html  # not even to the member themself


def test_withdrawing_erases_the_location_at_once_and_records_it(member_client, member):
    member_share_location(member=member, town="Annecy")
    response = member_client.post(WITHDRAW_URL)
    assert response.status_code == 302
    assert response["Location"] == URL
    assert _location_fields(member) == NOTHING_STORED
    granted, withdrawn = ConsentRecord.objects.filter(member=member).order_by("at", "id")
    assert granted.granted is True
    assert withdrawn.granted is False
    assert withdrawn.at >= granted.at


def test_withdrawing_twice_records_once(member):
    member_share_location(member=member, town="Annecy")
    member_withdraw_location(member=member)
    member_withdraw_location(member=member)
    assert ConsentRecord.objects.filter(member=member, granted=False).count() == 1


def test_withdrawal_needs_a_post(member_client, member):
    member_share_location(member=member, town="Annecy")
    response = member_client.get(WITHDRAW_URL)
    assert response.status_code == 405
    member.refresh_from_db()
    assert member.has_location


def test_withdrawal_touches_only_my_location(member_client, member, other_member):
    member_share_location(member=other_member, town="Annecy")
    member_client.post(WITHDRAW_URL)
    other_member.refresh_from_db()
    assert other_member.has_location


def test_the_history_lists_every_change_with_its_time(member_client, member):
    member_share_location(member=member, town="Annecy")
    member_withdraw_location(member=member)
    member_share_location(member=member, lat=45.9, lng=6.1)
    records = list(ConsentRecord.objects.filter(member=member).order_by("-at", "-id"))
    assert [r.granted for r in records] == [True, False, True]
    response = member_client.get(URL)
    html = response.content.decode()
    rows = html.split('<table class="history-table">')[1].split("</table>")[0].split("<tr>")[2:]
    assert len(rows) == 3
    for row, record in zip(rows, records, strict=True):
        assert f'datetime="{timezone.localtime(record.at).isoformat()}"' in row
        assert ("Given" if record.granted else "Withdrawn") in row
