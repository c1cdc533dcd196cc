"""The availability calendar of a loan listing, the owner's blocked days, and the
buffer days kept free between loans (set on the listing form)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from exchanges import selectors, services
from exchanges.models import BlockedPeriod, Exchange, State
from listings.models import Listing, Terms
from tests.exchanges.conftest import days
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, category

pytestmark = pytest.mark.django_db


def statuses(html: str) -> dict[str, str]:
    """{'2025-07-14': 'taken', ...} for every day cell of the page's calendars."""
    return dict(re.findall(r'data-date="([\d-]+)" data-status="(\w+)"', html))


def day_statuses(months) -> dict[date, str]:
    return {d.date: d.status for m in months for week in m.weeks for d in week if d.in_month}


# --- the selector ------------------------------------------------------------------------------


def test_the_calendar_marks_past_taken_buffer_and_blocked_days(drill, bob, carol, today):
    drill.loan_buffer_days = 1
    drill.save()
    make_exchange(listing=drill, asker=bob, state=State.ACCEPTED,
                  start_date=today + days(2), end_date=today + days(3))
    make_exchange(listing=drill, asker=carol, start_date=today + days(8),
                  end_date=today + days(9))  # only asked: the days stay free
    BlockedPeriod.objects.create(listing=drill, start_date=today + days(6), end_date=today + days(6))
    months = selectors.availability_calendar(drill, first_month=today.replace(day=1), today=today)
    status = day_statuses(months)
    assert status[today] == "free"
    assert [status[today + days(n)] for n in (2, 3, 4)] == ["taken", "taken", "taken"]
    assert status[today + days(5)] == "free"
    assert status[today + days(6)] == "blocked"
    assert status[today + days(8)] == "free"
    if today.day > 1:
        assert status[today - days(1)] == "past"


def test_finished_or_refused_loans_do_not_take_days(drill, bob, today):
    for state in (State.COMPLETED, State.DECLINED, State.CANCELLED, State.EXPIRED):
        make_exchange(listing=drill, asker=bob, state=state, start_date=today + days(1),
                      end_date=today + days(2), blocked_until=today + days(2))
    status = day_statuses(selectors.availability_calendar(drill, first_month=today.replace(day=1)))
    assert status[today + days(1)] == "free"


def test_the_calendar_costs_two_queries_whatever_it_shows(
    drill, bob, today, django_assert_num_queries
):
    for n in range(6):
        make_exchange(listing=drill, asker=bob, state=State.ACCEPTED,
                      start_date=today + days(4 * n), end_date=today + days(4 * n + 1))
        BlockedPeriod.objects.create(listing=drill, start_date=today + days(4 * n + 2),
                                     end_date=today + days(4 * n + 2))
    with django_assert_num_queries(2):
        selectors.availability_calendar(drill, first_month=today.replace(day=1), months=3)


def test_each_month_grid_starts_on_monday_and_covers_the_month(drill):
    months = selectors.availability_calendar(drill, first_month=date(2030, 2, 1), months=2,
                                             today=date(2030, 1, 15))
    assert [m.first for m in months] == [date(2030, 2, 1), date(2030, 3, 1)]
    for month in months:
        assert all(week[0].date.weekday() == 0 and len(week) == 7 for week in month.weeks)
    assert len([d for w in months[0].weeks for d in w if d.in_month]) == 28


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2030-03", date(2030, 3, 1)), ("nonsense", date(2030, 1, 1)), (None, date(2030, 1, 1)),
     ("2029-12", date(2030, 1, 1)), ("2040-01", date(2031, 1, 1)), ("2030-13", date(2030, 1, 1))],
)
def test_the_month_parameter_stays_within_a_year_ahead(text, expected):
    assert selectors.parse_month(text, today=date(2030, 1, 20)) == expected


# --- on the listing page ---------------------------------------------------------------------


def test_the_listing_page_shows_this_month_and_the_next(client, drill, bob, today):
    make_exchange(listing=drill, asker=bob, state=State.ACCEPTED,
                  start_date=today + days(1), end_date=today + days(1))
    BlockedPeriod.objects.create(listing=drill, start_date=today + days(3), end_date=today + days(3))
    html = client.get(drill.get_absolute_url()).content.decode()
    assert html.count('<table class="calendar">') == 2 and "<caption>" in html
    assert 'aria-label="Legend"' in html
    status = statuses(html)
    assert status[(today + days(1)).isoformat()] == "taken"
    assert status[(today + days(3)).isoformat()] == "blocked"
    assert status[today.isoformat()] == "free"
    assert 'aria-current="date"' in html
    assert "?month=" in html  # a link to later months, no JavaScript needed


def test_later_months_are_one_link_away(client, drill, today):
    later = selectors.add_months(today.replace(day=1), 3)
    BlockedPeriod.objects.create(listing=drill, start_date=later, end_date=later + days(1))
    html = client.get(drill.get_absolute_url(), {"month": later.strftime("%Y-%m")}).content.decode()
    assert statuses(html)[later.isoformat()] == "blocked"
    assert f"?month={selectors.add_months(later, -1).strftime('%Y-%m')}" in html


def test_only_lent_things_have_a_calendar(client, bike, ride):
    for listing in (bike, ride):
        assert 'class="calendar"' not in client.get(listing.get_absolute_url()).content.decode()


# --- blocked days ----------------------------------------------------------------------------


def block(client, listing, start, end, note=""):
    return client.post(reverse("exchanges:block", args=[listing.pk]), {
        "block-start_date": start, "block-end_date": end, "block-note": note,
    })


def test_the_owner_blocks_days_and_frees_them_again(client, drill, alice, today):
    client.force_login(alice)
    response = block(client, drill, today + days(2), today + days(4), "holidays")
    assert response.status_code == 302 and response.url == drill.get_absolute_url()
    period = BlockedPeriod.objects.get()
    assert (period.start_date, period.end_date, period.note) == (today + days(2), today + days(4), "holidays")
    html = client.get(drill.get_absolute_url()).content.decode()
    assert statuses(html)[(today + days(3)).isoformat()] == "blocked"
    assert reverse("exchanges:unblock", args=[period.pk]) in html and "holidays" in html
    client.post(reverse("exchanges:unblock", args=[period.pk]))
    assert not BlockedPeriod.objects.exists()


def test_visitors_see_no_blocking_form_nor_notes(client, drill, bob, today):
    BlockedPeriod.objects.create(listing=drill, start_date=today + days(2),
                                 end_date=today + days(2), note="private reason")
    client.force_login(bob)
    html = client.get(drill.get_absolute_url()).content.decode()
    assert reverse("exchanges:block", args=[drill.pk]) not in html
    assert "private reason" not in html


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(-1, 2, "Blocked days cannot start in the past."),
     (4, 2, "The last day comes after the first."),
     (1, 400, "Block at most a year at once.")],
)
def test_bad_blocked_days_are_refused_next_to_the_fields(client, drill, alice, today, start, end, message):
    client.force_login(alice)
    response = block(client, drill, today + days(start), today + days(end))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BlockedPeriod.objects.exists()


def test_days_a_loan_holds_cannot_be_blocked(client, drill, alice, bob, today):
    make_exchange(listing=drill, asker=bob, state=State.ACCEPTED,
                  start_date=today + days(3), end_date=today + days(5))
    client.force_login(alice)
    response = block(client, drill, today + days(5), today + days(7))
    assert response.status_code == 400
    assert "A loan you accepted holds some of these days" in response.content.decode()
    assert not BlockedPeriod.objects.exists()


def test_blocked_days_refuse_new_loan_requests(drill, alice, bob, today):
    BlockedPeriod.objects.create(listing=drill, start_date=today + days(3), end_date=today + days(4))
    with pytest.raises(services.ExchangeError):
        services.exchange_request(listing=drill, asker=bob, start_date=today + days(4),
                                  end_date=today + days(6))
    assert not Exchange.objects.exists()


def test_only_a_lent_listing_takes_blocked_days(client, bike, alice, today):
    client.force_login(alice)
    assert block(client, bike, today + days(1), today + days(2)).status_code == 404
    assert not BlockedPeriod.objects.exists()


def test_another_member_cannot_free_the_owners_days(client, drill, bob, today):
    period = BlockedPeriod.objects.create(listing=drill, start_date=today + days(1),
                                          end_date=today + days(2))
    client.force_login(bob)
    assert client.post(reverse("exchanges:unblock", args=[period.pk])).status_code == 404
    assert block(client, drill, today + days(5), today + days(6)).status_code == 404
    assert BlockedPeriod.objects.count() == 1


# --- buffer days on the listing form --------------------------------------------------------


def edit_post(listing: Listing, **changes) -> dict:
    data = {
        "terms": listing.terms, "title": listing.title, "description": listing.description,
        "category": str(category("power-tools").pk), "condition": "good", "price": "3",
        "deposit": "50", "loan_buffer_days": "0", "town": listing.place_name,
    }
    data.update(changes)
    return data


def test_the_owner_sets_buffer_days_on_the_listing_form(client, drill, alice):
    client.force_login(alice)
    edit = reverse("listings:edit", args=[drill.pk])
    assert 'name="loan_buffer_days"' in client.get(edit).content.decode()
    response = client.post(edit, edit_post(drill, loan_buffer_days="2"))
    assert response.status_code == 302
    drill.refresh_from_db()
    assert drill.loan_buffer_days == 2
    assert 'value="2"' in client.get(edit).content.decode()


@pytest.mark.parametrize("value", ["31", "-1", "two"])
def test_buffer_days_out_of_bounds_are_refused(client, drill, alice, value):
    client.force_login(alice)
    response = client.post(reverse("listings:edit", args=[drill.pk]),
                           edit_post(drill, loan_buffer_days=value))
    assert response.status_code == 200 and response.context["form"].errors["loan_buffer_days"]
    drill.refresh_from_db()
    assert drill.loan_buffer_days == 0


def test_buffer_days_only_stay_on_a_loan(client, alice):
    listing = ListingFactory(owner=alice, terms=Terms.LEND, loan_buffer_days=3)
    client.force_login(alice)
    client.post(reverse("listings:edit", args=[listing.pk]),
                edit_post(listing, terms="sell", price="20", deposit="", loan_buffer_days="3"))
    listing.refresh_from_db()
    assert (listing.terms, listing.loan_buffer_days) == ("sell", 0)


def test_a_new_lent_item_keeps_its_buffer_days(client, alice):
    client.force_login(alice)
    data = edit_post(ListingFactory.build(title="Ladder"), terms="lend", loan_buffer_days="1",
                     town="Annecy")
    assert client.post(reverse("listings:create-kind", args=["item"]), data).status_code == 302
    assert Listing.objects.get(title="Ladder").loan_buffer_days == 1


def test_buffer_days_keep_the_next_loan_away(drill, alice, bob, carol, today):
    drill.loan_buffer_days = 2
    drill.save()
    first = services.exchange_request(listing=drill, asker=bob, start_date=today + days(1),
                                      end_date=today + days(2))
    services.exchange_accept(exchange=first, by=alice)
    with pytest.raises(services.ExchangeError, match="overlap another loan"):
        services.exchange_request(listing=drill, asker=carol, start_date=today + days(4),
                                  end_date=today + days(5))
    assert services.exchange_request(listing=drill, asker=carol, start_date=today + days(5),
                                     end_date=today + days(6))
