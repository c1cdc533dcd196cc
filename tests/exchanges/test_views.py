"""The exchange pages: the request forms on listing pages, my exchanges, the exchange
page with its timeline and actions, and every refusal with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exchanges import services
from exchanges.models import Exchange, ExchangeEvent, State
from listings.models import Status, Terms
from tests.exchanges.conftest import days
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def request_url(listing) -> str:
    return reverse("exchanges:request", args=[listing.pk])


def act(client, exchange, action, **data):
    return client.post(reverse("exchanges:act", args=[exchange.pk, action]), data, follow=True)


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def counts() -> tuple[int, int]:
    return Exchange.objects.count(), ExchangeEvent.objects.count()


# --- the request area on a listing page --------------------------------------------------


def test_a_loan_listing_offers_dates_and_a_message(client, drill, bob):
    client.force_login(bob)
    html = page(client, drill.get_absolute_url())
    assert f'action="{request_url(drill)}"' in html
    assert 'type="date"' in html and 'name="ask-start_date"' in html and 'name="ask-end_date"' in html
    assert 'name="ask-message"' in html
    assert "Pay in person" in html and "3.00 €" in html and "50.00 €" in html


def test_a_ride_offers_seats_up_to_the_free_ones(client, ride, bob, carol):
    make_exchange(listing=ride, asker=carol, state=State.ACCEPTED, seats=2)
    client.force_login(bob)
    html = page(client, ride.get_absolute_url())
    assert 'name="ask-seats"' in html and 'max="1"' in html and "1 seat left." in html
    assert "Pay in person" in html


def test_a_full_ride_takes_no_more_requests(client, ride, bob, carol):
    make_exchange(listing=ride, asker=carol, state=State.ACCEPTED, seats=3)
    client.force_login(bob)
    html = page(client, ride.get_absolute_url())
    assert "This ride is full." in html and 'name="ask-seats"' not in html


def test_a_swap_offers_the_askers_own_active_items(client, board_game, bob, lamp):
    ListingFactory(owner=bob, title="Paused kettle", status=Status.PAUSED)
    client.force_login(bob)
    html = page(client, board_game.get_absolute_url())
    assert 'name="ask-offered"' in html and 'type="checkbox"' in html
    assert "Lamp" in html and "Paused kettle" not in html
    assert "Pay in person" not in html


def test_a_swap_without_anything_to_offer_says_how_to_post_one(client, board_game, carol):
    client.force_login(carol)
    html = page(client, board_game.get_absolute_url())
    assert reverse("listings:create-kind", args=["item"]) in html
    assert 'name="ask-offered"' not in html


def test_a_sale_asks_only_for_a_message_and_says_pay_in_person(client, bike, bob):
    client.force_login(bob)
    html = page(client, bike.get_absolute_url())
    assert 'name="ask-message"' in html and 'name="ask-start_date"' not in html
    assert "Buy it" in html and "Pay in person" in html


def test_a_gift_asks_for_a_message_and_no_payment(client, armchair, bob):
    client.force_login(bob)
    html = page(client, armchair.get_absolute_url())
    assert 'name="ask-message"' in html and "Pay in person" not in html


def test_free_services_and_wanted_posts_take_no_request(client, bob):
    client.force_login(bob)
    for listing in (ServiceFactory(terms=Terms.GIVE, hours_minutes=None), ListingFactory(kind="wanted", terms=Terms.SELL)):
        assert request_url(listing) not in page(client, listing.get_absolute_url())


def test_anonymous_visitors_are_invited_to_log_in(client, drill):
    html = page(client, drill.get_absolute_url())
    assert "Log in to ask" in html and request_url(drill) not in html


def test_the_owner_sees_the_requests_instead_of_a_form(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    html = page(client, drill.get_absolute_url())
    assert request_url(drill) not in html
    assert "Requests for this listing" in html and exchange.get_absolute_url() in html


def test_an_open_request_links_to_itself_instead_of_a_second_form(client, drill, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(bob)
    html = page(client, drill.get_absolute_url())
    assert exchange.get_absolute_url() in html and request_url(drill) not in html


def test_a_paused_listing_shows_no_form_to_its_owner(client, drill, alice):
    drill.status = Status.PAUSED
    drill.save()
    client.force_login(alice)
    assert request_url(drill) not in page(client, drill.get_absolute_url())


def test_the_listing_page_keeps_a_fixed_number_of_queries(
    client, drill, bob, carol, django_assert_max_num_queries
):
    client.force_login(bob)
    client.get(drill.get_absolute_url())  # session, language, warm caches
    with django_assert_max_num_queries(10):
        client.get(drill.get_absolute_url())
    for n in range(5):
        make_exchange(listing=drill, asker=MemberFactory(), state=State.ACCEPTED,
                      start_date=timezone.localdate() + days(3 * n + 1),
                      end_date=timezone.localdate() + days(3 * n + 2))
    with django_assert_max_num_queries(10):
        client.get(drill.get_absolute_url())


# --- sending a request ------------------------------------------------------------------------


def test_asking_to_borrow_leads_to_the_new_exchange(client, drill, bob, today):
    client.force_login(bob)
    response = client.post(request_url(drill), {
        "ask-start_date": today + days(2), "ask-end_date": today + days(4), "ask-message": "Hi!",
    })
    exchange = Exchange.objects.get()
    assert response.status_code == 302 and response.url == exchange.get_absolute_url()
    assert (exchange.asker, exchange.start_date, exchange.amount_cents) == (bob, today + days(2), 900)
    assert exchange.message == "Hi!"


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (-1, 2, "start_date", "The loan cannot start in the past."),
        (4, 2, "end_date", "The last day comes after the first."),
        (None, 2, "start_date", "This field is required."),
    ],
)
def test_bad_loan_dates_come_back_next_to_their_field(client, drill, bob, today, start, end, field, message):
    client.force_login(bob)
    before = counts()
    response = client.post(request_url(drill), {
        "ask-start_date": "" if start is None else today + days(start),
        "ask-end_date": today + days(end),
    })
    assert response.status_code == 400
    form = response.wsgi_request.exchange_request_form
    assert message in form.errors[field]
    assert message in response.content.decode()
    assert "field-error" in response.content.decode()
    assert counts() == before


def test_taken_days_are_refused_on_the_page(client, drill, bob, carol, today):
    make_exchange(listing=drill, asker=carol, state=State.ACCEPTED,
                  start_date=today + days(3), end_date=today + days(5))
    client.force_login(bob)
    before = counts()
    response = client.post(request_url(drill), {
        "ask-start_date": today + days(4), "ask-end_date": today + days(6),
    })
    assert response.status_code == 400
    assert "overlap another loan" in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(("seats", "message"), [("0", "greater than or equal to 1"),
                                                 ("4", "Only 3 seats are left."),
                                                 ("", "This field is required.")])
def test_bad_seat_counts_are_refused(client, ride, bob, seats, message):
    client.force_login(bob)
    before = counts()
    response = client.post(request_url(ride), {"ask-seats": seats})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == before


def test_booking_seats(client, ride, bob):
    client.force_login(bob)
    response = client.post(request_url(ride), {"ask-seats": "2"})
    exchange = Exchange.objects.get()
    assert response.url == exchange.get_absolute_url()
    assert (exchange.seats, exchange.amount_cents) == (2, 1000)


def test_proposing_a_swap_with_ones_own_item(client, board_game, bob, lamp):
    client.force_login(bob)
    response = client.post(request_url(board_game), {"ask-offered": [lamp.pk]})
    exchange = Exchange.objects.get()
    assert response.url == exchange.get_absolute_url()
    assert list(exchange.offered_listings.all()) == [lamp]


def test_a_swap_cannot_offer_someone_elses_item(client, board_game, bob, carol, lamp):
    not_bobs = ListingFactory(owner=carol, title="Carol's lamp")
    client.force_login(bob)
    before = counts()
    response = client.post(request_url(board_game), {"ask-offered": [not_bobs.pk]})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert counts() == before


def test_a_swap_needs_an_offer(client, board_game, bob, lamp):
    client.force_login(bob)
    response = client.post(request_url(board_game), {"ask-message": "Interested"})
    assert response.status_code == 400
    assert "Offer at least one of your listings." in response.content.decode()
    assert not Exchange.objects.exists()


def test_asking_to_buy(client, bike, bob):
    client.force_login(bob)
    client.post(request_url(bike), {"ask-message": "Still there?"})
    exchange = Exchange.objects.get()
    assert (exchange.kind, exchange.amount_cents, exchange.pay_in_person) == ("sale", 4500, True)


def test_the_owner_cannot_ask_for_their_own_listing(client, bike, alice):
    client.force_login(alice)
    response = client.post(request_url(bike), {"ask-message": "me"}, follow=True)
    assert "This is your own listing." in response.content.decode()
    assert not Exchange.objects.exists()


def test_a_paused_listing_is_refused_with_a_message(client, bike, bob):
    bike.status = Status.PAUSED
    bike.save()
    client.force_login(bob)
    response = client.post(request_url(bike), {"ask-message": "hi"}, follow=True)
    assert response.status_code == 200
    assert "This listing is not available at the moment." in response.content.decode()
    assert not Exchange.objects.exists()


def test_a_second_open_request_is_refused(client, bike, bob):
    make_exchange(listing=bike, asker=bob)
    client.force_login(bob)
    before = counts()
    response = client.post(request_url(bike), {"ask-message": "again"}, follow=True)
    assert "You already have an open request for this listing." in response.content.decode()
    assert counts() == before


def test_a_free_service_listing_takes_no_request(client, bob):
    service = ServiceFactory(terms=Terms.GIVE, hours_minutes=None)
    client.force_login(bob)
    response = client.post(request_url(service), {"ask-message": "hi"}, follow=True)
    assert "This listing does not take requests." in response.content.decode()
    assert not Exchange.objects.exists()


# --- my exchanges ------------------------------------------------------------------------------


def test_my_exchanges_lists_both_sides_open_and_past(client, drill, bike, alice, bob, carol):
    borrowing = make_exchange(listing=drill, asker=bob)
    theirs = ListingFactory(owner=bob, terms=Terms.SELL, price_cents=1200, title="Bob's kettle")
    selling = make_exchange(listing=theirs, asker=alice, state=State.ACCEPTED)
    done = make_exchange(listing=bike, asker=bob, state=State.COMPLETED)
    not_mine = make_exchange(listing=drill, asker=carol)
    client.force_login(bob)
    html = page(client, reverse("exchanges:list"))
    mine, past = html.split("Past exchanges")
    assert borrowing.get_absolute_url() in mine and selling.get_absolute_url() in mine
    assert done.get_absolute_url() in past and done.get_absolute_url() not in mine
    assert not_mine.get_absolute_url() not in html
    assert "asked by Alice" in html and "with Alice" in html
    assert "12.00 €" in html and "Completed" in html and "Requested" in html


def test_past_exchanges_are_paginated(client, alice, bob):
    for _ in range(23):
        make_exchange(listing=ListingFactory(owner=alice, terms=Terms.SELL, price_cents=100),
                      asker=bob, state=State.DECLINED)
    client.force_login(bob)
    first = client.get(reverse("exchanges:list"))
    assert len(first.context["past"]) == 20 and "?page=2" in first.content.decode()
    assert len(client.get(reverse("exchanges:list"), {"page": 2}).context["past"]) == 3


def test_my_exchanges_runs_a_fixed_number_of_queries(client, alice, bob, django_assert_max_num_queries):
    def add(n):
        for _ in range(n):
            listing = ListingFactory(owner=alice, terms=Terms.SELL, price_cents=100)
            make_exchange(listing=listing, asker=bob)
            make_exchange(listing=listing, asker=bob, state=State.CANCELLED)

    add(1)
    client.force_login(bob)
    client.get(reverse("exchanges:list"))
    with django_assert_max_num_queries(8) as first:
        client.get(reverse("exchanges:list"))
    add(6)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(reverse("exchanges:list"))


# --- the exchange page ---------------------------------------------------------------------


def test_the_exchange_page_shows_a_loan(client, drill, alice, bob, today):
    drill.lat, drill.lng = 45.899247, 6.129384
    drill.save()
    client.force_login(bob)
    client.post(request_url(drill), {
        "ask-start_date": today + days(1), "ask-end_date": today + days(3), "ask-message": "For shelves",
    })
    exchange = Exchange.objects.get()
    html = page(client, exchange.get_absolute_url())
    assert "Cordless drill" in html and "Alice" in html and "Bob" in html
    assert "3 days" in html and "9.00 €" in html and "50.00 €" in html and "Pay in person" in html
    assert "For shelves" in html and "Asked" in html and "Annecy (FR)" in html
    for secret in ("45.899247", "6.129384", "45.899", "6.129"):
        assert secret not in html


def test_the_exchange_page_shows_a_ride_a_swap_and_a_sale(client, ride, board_game, bike, bob, lamp):
    booking = make_exchange(listing=ride, asker=bob, seats=2, amount_cents=1000)
    swap = make_exchange(listing=board_game, asker=bob, offered=[lamp])
    sale = make_exchange(listing=bike, asker=bob)
    client.force_login(bob)
    html = page(client, booking.get_absolute_url())
    assert "Geneva (CH)" in html and "10.00 €" in html and "Seats" in html
    html = page(client, swap.get_absolute_url())
    assert "Offered in return" in html and lamp.get_absolute_url() in html
    assert "Pay in person" not in html
    html = page(client, sale.get_absolute_url())
    assert "45.00 €" in html and "Pay in person" in html


def action_names(response) -> list[str]:
    return [action["name"] for action in response.context["actions"]]


def test_each_party_sees_exactly_the_actions_they_may_take(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    response = client.get(exchange.get_absolute_url())
    assert action_names(response) == ["accept", "decline"]
    html = response.content.decode()
    assert reverse("exchanges:act", args=[exchange.pk, "accept"]) in html
    assert reverse("exchanges:act", args=[exchange.pk, "cancel"]) not in html
    assert 'data-confirm="Decline this request?"' in html
    client.force_login(bob)
    assert action_names(client.get(exchange.get_absolute_url())) == ["cancel"]
    exchange.state = State.COMPLETED
    exchange.save()
    response = client.get(exchange.get_absolute_url())
    assert action_names(response) == [] and "This exchange is over." in response.content.decode()


def test_a_loan_goes_from_request_to_return(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    for action, state in (("accept", State.ACCEPTED), ("start", State.IN_PROGRESS),
                          ("complete", State.COMPLETED)):
        response = act(client, exchange, action)
        assert response.redirect_chain[-1][0] == exchange.get_absolute_url()
        exchange.refresh_from_db()
        assert exchange.state == state
    client.force_login(bob)
    html = page(client, exchange.get_absolute_url())
    assert "Completed" in html and "Confirmed the hand-over" in html and "Accepted" in html


def test_declining_keeps_the_note_in_the_timeline(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    html = act(client, exchange, "decline", note="I need it that week").content.decode()
    assert "You declined the request." in html and "I need it that week" in html
    exchange.refresh_from_db()
    assert exchange.state == State.DECLINED


def test_a_second_identical_click_is_refused_and_changes_nothing(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    act(client, exchange, "accept")
    events = ExchangeEvent.objects.filter(exchange=exchange).count()
    html = act(client, exchange, "accept").content.decode()
    assert "This exchange is accepted: it cannot be changed this way now." in html
    assert ExchangeEvent.objects.filter(exchange=exchange).count() == events
    exchange.refresh_from_db()
    assert exchange.state == State.ACCEPTED


def test_the_asker_cannot_accept_their_own_request(client, drill, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(bob)
    html = act(client, exchange, "accept").content.decode()
    assert "Only the owner can do this." in html
    exchange.refresh_from_db()
    assert exchange.state == State.REQUESTED


def test_accepting_overlapping_days_is_refused(client, drill, alice, bob, carol, today):
    make_exchange(listing=drill, asker=carol, state=State.ACCEPTED,
                  start_date=today + days(3), end_date=today + days(5))
    exchange = make_exchange(listing=drill, asker=bob, start_date=today + days(5),
                             end_date=today + days(6))
    client.force_login(alice)
    html = act(client, exchange, "accept").content.decode()
    assert "overlap another loan" in html
    exchange.refresh_from_db()
    assert exchange.state == State.REQUESTED


def test_a_dispute_needs_a_reason(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
    client.force_login(bob)
    html = act(client, exchange, "dispute", note="  ").content.decode()
    assert "Tell us what went wrong." in html
    exchange.refresh_from_db()
    assert exchange.state == State.IN_PROGRESS
    act(client, exchange, "dispute", note="It came back broken")
    exchange.refresh_from_db()
    assert exchange.state == State.DISPUTED


def test_withdrawing_and_calling_off(client, bike, alice, bob):
    asked = make_exchange(listing=bike, asker=bob)
    client.force_login(bob)
    assert "Your request is withdrawn." in act(client, asked, "cancel").content.decode()
    agreed = make_exchange(listing=bike, asker=bob, state=State.ACCEPTED)
    client.force_login(alice)
    assert "The deal is cancelled." in act(client, agreed, "call_off").content.decode()
    assert {e.state for e in Exchange.objects.all()} == {State.CANCELLED}


def test_a_note_that_is_too_long_changes_nothing(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    html = act(client, exchange, "decline", note="x" * 2001).content.decode()
    assert "at most 2000 characters" in html
    exchange.refresh_from_db()
    assert exchange.state == State.REQUESTED


def test_the_exchange_page_runs_a_fixed_number_of_queries(
    client, drill, alice, bob, django_assert_max_num_queries
):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    client.get(exchange.get_absolute_url())
    with django_assert_max_num_queries(10) as first:
        client.get(exchange.get_absolute_url())
    services.exchange_accept(exchange=exchange, by=alice)
    services.exchange_start(exchange=exchange, by=alice)
    services.exchange_complete(exchange=exchange, by=alice)
    # + 1 once completed: the reviews panel reads the exchange's reviews (reviews app).
    with django_assert_max_num_queries(len(first.captured_queries) + 1):
        client.get(exchange.get_absolute_url())


def test_an_overdue_loan_says_so(client, drill, bob, today):
    exchange = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                             start_date=today - timedelta(days=5), end_date=today - timedelta(days=2))
    client.force_login(bob)
    assert "This loan was due back on" in page(client, exchange.get_absolute_url())


def test_exchange_pages_carry_no_inline_script(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(alice)
    for url in (reverse("exchanges:list"), exchange.get_absolute_url(), drill.get_absolute_url()):
        html = page(client, url)
        main = html[html.index("<main"):html.index("</main>")]
        assert "<script" not in main and " onclick=" not in main and " onsubmit=" not in main


def test_the_exact_place_is_shown_to_the_asker_only_once_the_deal_is_accepted(client, db):
    from exchanges import services
    from tests.factories import ListingFactory, MemberFactory

    owner, asker = MemberFactory(), MemberFactory()
    listing = ListingFactory(owner=owner, lat=45.912345, lng=6.123456)
    start = timezone.localdate() + timedelta(days=3)
    exchange = services.exchange_request(listing=listing, asker=asker, start_date=start, end_date=start)
    client.force_login(asker)
    assert "45.912345" not in client.get(exchange.get_absolute_url()).content.decode()

    services.exchange_accept(exchange=exchange, by=owner)
    body = client.get(exchange.get_absolute_url()).content.decode()
    assert "geo:45.912345,6.123456" in body

    client.force_login(owner)
    assert "geo:45.912345" not in client.get(exchange.get_absolute_url()).content.decode()
    services.exchange_call_off(exchange=exchange, by=owner)
    client.force_login(asker)
    assert "45.912345" not in client.get(exchange.get_absolute_url()).content.decode()
