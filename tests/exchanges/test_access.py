"""Only the two parties see an exchange: anonymous visitors are sent to log in, every
other member gets 404 on every exchange URL and action, never 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exchanges.models import BlockedPeriod, Exchange, ExchangeEvent, State
from exchanges.services import ACTIONS
from tests.exchanges.conftest import days
from tests.exchanges.factories import make_exchange

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(drill, bob):
    return make_exchange(listing=drill, asker=bob)


def action_url(exchange: Exchange, action: str) -> str:
    return reverse("exchanges:act", args=[exchange.pk, action])


def exchange_urls(exchange: Exchange) -> list[tuple[str, str]]:
    return [("get", exchange.get_absolute_url())] + [
        ("post", action_url(exchange, action)) for action in ACTIONS
    ]


def test_anonymous_visitors_are_sent_to_log_in_everywhere(client, loan, drill):
    period = BlockedPeriod.objects.create(listing=drill, start_date=loan.start_date,
                                          end_date=loan.start_date)
    urls = exchange_urls(loan) + [
        ("get", reverse("exchanges:list")),
        ("post", reverse("exchanges:request", args=[drill.pk])),
        ("post", reverse("exchanges:block", args=[drill.pk])),
        ("post", reverse("exchanges:unblock", args=[period.pk])),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("account_login")), url


def test_another_member_gets_404_on_the_page_and_every_action(client, loan, dave):
    client.force_login(dave)
    events = ExchangeEvent.objects.count()
    for method, url in exchange_urls(loan):
        data = {"note": "let me in"} if method == "post" else None
        assert getattr(client, method)(url, data).status_code == 404, url
    loan.refresh_from_db()
    assert loan.state == State.REQUESTED
    assert ExchangeEvent.objects.count() == events


def test_both_parties_see_the_page(client, loan, alice, bob):
    for member in (alice, bob):
        client.force_login(member)
        assert client.get(loan.get_absolute_url()).status_code == 200


def test_a_missing_exchange_is_not_found(client, bob):
    client.force_login(bob)
    assert client.get(reverse("exchanges:detail", args=[999999])).status_code == 404
    assert client.post(reverse("exchanges:act", args=[999999, "cancel"])).status_code == 404


def test_an_unknown_action_is_not_found_even_for_a_party(client, loan, alice):
    client.force_login(alice)
    for action in ("expire", "pay", "delete", "request"):
        assert client.post(action_url(loan, action)).status_code == 404
    loan.refresh_from_db()
    assert loan.state == State.REQUESTED


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_actions_refuse_get(client, loan, alice, action):
    client.force_login(alice)
    assert client.get(action_url(loan, action)).status_code == 405
    loan.refresh_from_db()
    assert loan.state == State.REQUESTED


def test_post_only_pages_refuse_get(client, drill, bob, alice, today):
    period = BlockedPeriod.objects.create(listing=drill, start_date=today + days(1),
                                          end_date=today + days(2))
    client.force_login(bob)
    assert client.get(reverse("exchanges:request", args=[drill.pk])).status_code == 405
    client.force_login(alice)
    assert client.get(reverse("exchanges:block", args=[drill.pk])).status_code == 405
    assert client.get(reverse("exchanges:unblock", args=[period.pk])).status_code == 405


def test_the_list_shows_only_the_members_own_exchanges(client, loan, dave):
    client.force_login(dave)
    html = client.get(reverse("exchanges:list")).content.decode()
    assert loan.get_absolute_url() not in html
    assert "Cordless drill" not in html


def test_another_member_cannot_block_or_free_days(client, drill, dave, today):
    period = BlockedPeriod.objects.create(listing=drill, start_date=today + days(1),
                                          end_date=today + days(2))
    client.force_login(dave)
    data = {"block-start_date": today + days(5), "block-end_date": today + days(6)}
    assert client.post(reverse("exchanges:block", args=[drill.pk]), data).status_code == 404
    assert client.post(reverse("exchanges:unblock", args=[period.pk])).status_code == 404
    assert list(BlockedPeriod.objects.values_list("pk", flat=True)) == [period.pk]
