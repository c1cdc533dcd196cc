"""Each kind of deal in its own words: a ride departs and arrives, a service starts, only
things are handed over; seats read with real plurals and show what is already booked;
a wanted post says how its author would like to get the thing. In English and French."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from exchanges import services as es
from listings.models import Kind, Terms
from messaging.models import Notification
from tests.factories import ListingFactory, MemberFactory, RideFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)
    return call


def _page(client, member, url: str, language: str = "en") -> str:
    client.force_login(member)
    return client.get(url, headers={"Accept-Language": language}).content.decode()


def _accepted(run, listing, **request):
    asker = MemberFactory(display_name="Bob")
    deal = run(es.exchange_request, listing=listing, asker=asker, **request)
    return run(es.exchange_accept, exchange=deal, by=listing.owner)


@pytest.mark.parametrize(("factory", "english", "french"), [
    (RideFactory, "Confirm the departure", "Confirmer le départ"),
    (ServiceFactory, "Confirm the service has started", "Confirmer que le service a commencé"),
])
def test_rides_and_services_are_not_handed_over(run, client, factory, english, french):
    deal = _accepted(run, factory(owner=MemberFactory(display_name="Alice")),
                     **({"seats": 1} if factory is RideFactory else {}))
    url = reverse("exchanges:detail", args=[deal.pk])
    page = _page(client, deal.owner, url)
    assert english in page
    assert "hand-over" not in page
    french_page = _page(client, deal.owner, url, "fr")
    assert french in french_page
    assert "remise" not in french_page


def test_a_ride_departs_arrives_and_the_timeline_says_so(run, client):
    ride = RideFactory(owner=MemberFactory(display_name="Alice"), title="Annecy to Geneva")
    deal = _accepted(run, ride, seats=1)
    run(es.exchange_start, exchange=deal, by=ride.owner)
    page = _page(client, deal.asker, reverse("exchanges:detail", args=[deal.pk]))
    assert "Confirmed the departure" in page
    assert "Accepted → In progress" in page
    notice = Notification.objects.get(member=deal.asker, kind="exchange_started")
    assert notice.text == "Alice confirmed the departure of “Annecy to Geneva”."
    accepted = Notification.objects.get(member=deal.asker, kind="exchange_accepted")
    assert accepted.text == "Alice accepted your booking on “Annecy to Geneva”. Agree on where to meet."
    with translation.override("fr"):
        assert notice.text == "Alice a confirmé le départ de « Annecy to Geneva »."

    owner_page = _page(client, ride.owner, reverse("exchanges:detail", args=[deal.pk]))
    assert "Confirm the arrival" in owner_page


def test_a_service_start_and_its_time_read_without_loan_words(run, client):
    help_ = ServiceFactory(owner=MemberFactory(display_name="Alice"), title="Garden help")
    deal = _accepted(run, help_)
    run(es.exchange_start, exchange=deal, by=help_.owner)
    run(es.exchange_record_time, exchange=deal, by=help_.owner, minutes=60)
    page = _page(client, deal.asker, reverse("exchanges:detail", args=[deal.pk]))
    assert "Confirmed the service has started" in page
    assert "In progress → In progress" not in page
    assert "Provider" in page
    notice = Notification.objects.get(member=deal.asker, kind="exchange_started")
    assert notice.text == "Alice confirmed that “Garden help” has started."


def test_a_loan_still_reads_as_a_hand_over(run, client):
    from datetime import timedelta

    from django.utils import timezone

    drill = ListingFactory(owner=MemberFactory(display_name="Alice"), terms=Terms.LEND)
    tomorrow = timezone.localdate() + timedelta(days=1)
    deal = _accepted(run, drill, start_date=tomorrow, end_date=tomorrow)
    assert "Confirm the hand-over" in _page(client, drill.owner, reverse("exchanges:detail", args=[deal.pk]))


def test_booked_seats_show_on_the_rides_card_and_page(run, client):
    ride = RideFactory(owner=MemberFactory(), seats=3, title="Annecy to Lyon")
    deal = _accepted(run, ride, seats=2)
    ride.refresh_from_db()
    assert ride.seats_booked == 2 == es.seats_taken(ride)
    viewer = MemberFactory()

    card = _page(client, viewer, reverse("listings:list") + "?kind=ride")
    assert "1 seat left of 3" in card
    assert "3 seats" not in card
    assert "1 place restante sur 3" in _page(client, viewer, reverse("listings:list") + "?kind=ride", "fr")
    detail = _page(client, viewer, ride.get_absolute_url())
    assert "Seats left" in detail and "(2 booked)" in detail
    assert "1 seat left." in detail  # the booking form's hint

    # Cancelled, the seats are free again, on the card too.
    run(es.exchange_call_off, exchange=deal, by=deal.asker)
    ride.refresh_from_db()
    assert ride.seats_booked == 0
    assert "3 seats" in _page(client, viewer, reverse("listings:list") + "?kind=ride")


def test_a_full_ride_says_so_and_refuses_with_a_real_plural(run, client):
    ride = RideFactory(owner=MemberFactory(), seats=2)
    _accepted(run, ride, seats=1)
    with pytest.raises(es.ExchangeError) as refused:
        run(es.exchange_request, listing=ride, asker=MemberFactory(), seats=2)
    assert refused.value.messages == ["Only 1 seat is left."]
    with translation.override("fr"), pytest.raises(es.ExchangeError) as refused:
        run(es.exchange_request, listing=ride, asker=MemberFactory(), seats=2)
    assert refused.value.messages == ["Il ne reste que 1 place."]
    _accepted(run, ride, seats=1)
    card = _page(client, MemberFactory(), reverse("listings:list") + "?kind=ride")
    assert "Full" in card


def test_a_wanted_post_says_how_its_author_would_get_it(client):
    wanted = ListingFactory(kind=Kind.WANTED, terms=Terms.LEND, title="Looking for a ladder",
                            condition="")
    viewer = MemberFactory()
    detail = _page(client, viewer, wanted.get_absolute_url())
    assert "To borrow" in detail
    assert ">Lend<" not in detail
    assert "À emprunter" in _page(client, viewer, wanted.get_absolute_url(), "fr")
    cards = _page(client, viewer, reverse("listings:list") + "?kind=wanted")
    assert "To borrow" in cards


@pytest.mark.parametrize(("kind", "words"), [
    ("item", "its state, when it is available"),
    ("ride", "anything passengers should know"),
    ("service", "What you do, when you are free"),
    ("wanted", "What you are looking for"),
])
def test_each_kinds_form_asks_for_its_own_description(client, kind, words):
    page = _page(client, MemberFactory(), reverse("listings:create-kind", args=[kind]))
    assert words in page
    if kind != "item":
        assert "its state, when it is available" not in page


def test_a_wanted_form_offers_the_authors_terms(client):
    page = _page(client, MemberFactory(), reverse("listings:create-kind", args=["wanted"]))
    assert "To borrow" in page and "To buy" in page


@pytest.mark.parametrize(("factory", "label", "button"), [
    (RideFactory, "Message to the driver", "Message the driver"),
    (ServiceFactory, "Message to the provider", "Message the provider"),
    (ListingFactory, "Message to the owner", "Message the owner"),
])
def test_the_request_and_contact_name_the_driver_or_the_provider(client, factory, label, button):
    page = _page(client, MemberFactory(), factory(owner=MemberFactory()).get_absolute_url())
    assert label in page and button in page
