"""Open exchange pages and My exchanges follow the deal's state: each move is pushed to
both parties' sockets, and the pages answer htmx with the parts that follow it (204 when
the page already shows the current state)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exchanges import services as es
from listings.models import Terms
from tests.factories import ListingFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)
    return call


@pytest.fixture
def loan(run):
    alice, bob = MemberFactory(display_name="Alice"), MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, terms=Terms.LEND, title="Cordless drill")
    tomorrow = timezone.localdate() + timedelta(days=1)
    return run(es.exchange_request, listing=drill, asker=bob, start_date=tomorrow,
               end_date=tomorrow + timedelta(days=1))


def _version(html: str) -> str:
    return re.search(r'id="exchange-version" name="v" value="([^"]+)"', html).group(1)


def test_each_move_is_pushed_to_both_parties(run, loan, monkeypatch):
    pushed = []
    monkeypatch.setattr("messaging.live.push_to_member",
                        lambda member_id, payload: pushed.append((member_id, payload)))
    run(es.exchange_accept, exchange=loan, by=loan.owner)
    frames = [(member, p) for member, p in pushed if p["type"] == "exchange"]
    assert sorted(member for member, _p in frames) == sorted([loan.asker_id, loan.owner_id])
    assert all(p == {"type": "exchange", "id": loan.pk, "state": "accepted"} for _m, p in frames)


def test_the_page_answers_htmx_with_its_live_parts(client, loan):
    client.force_login(loan.asker)
    response = client.get(reverse("exchanges:detail", args=[loan.pk]), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    for part in ("exchange-live-head", "exchange-live-main", "exchange-live-actions", "exchange-live-other"):
        assert f'id="{part}"' in body
    assert "Answer before" in body


def test_an_unchanged_deal_answers_204_and_a_moved_one_its_new_state(run, client, loan):
    client.force_login(loan.asker)
    url = reverse("exchanges:detail", args=[loan.pk])
    version = _version(client.get(url).content.decode())
    htmx = {"HX-Request": "true"}

    assert client.get(url, {"v": version}, headers=htmx).status_code == 204

    run(es.exchange_accept, exchange=loan, by=loan.owner)
    response = client.get(url, {"v": version}, headers=htmx)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="exchange-state">Accepted<' in body
    assert "Answer before" not in body
    assert _version(body) != version


def test_strangers_get_404_from_the_live_parts_too(client, loan):
    client.force_login(MemberFactory())
    url = reverse("exchanges:detail", args=[loan.pk])
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 404


def test_my_exchanges_answers_htmx_with_its_groups(run, client, loan):
    client.force_login(loan.asker)
    url = reverse("exchanges:list")
    run(es.exchange_accept, exchange=loan, by=loan.owner)
    response = client.get(url, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert "Accepted" in body


def test_the_pages_say_what_they_listen_for(client, loan):
    client.force_login(loan.asker)
    detail = client.get(reverse("exchanges:detail", args=[loan.pk])).content.decode()
    assert f"partage:exchange-{loan.pk} from:document" in detail
    assert "partage:resync from:document" in detail
    listing = client.get(reverse("exchanges:list")).content.decode()
    assert "partage:exchanges from:document" in listing
