"""One date style per language ("3 December 2026" / "3 décembre 2026"), in pages and in
the sentences services write; French puts a non-breaking space before a colon, also
where a template joins a label to what follows; the time page's period reads as days."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.dates import day, moment
from exchanges import services as es
from ledger.services import transfer_post
from listings.models import Terms
from members.services import member_set_consent
from tests.factories import ListingFactory, MemberFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def _get(client, url: str, language: str) -> str:
    return client.get(url, headers={"Accept-Language": language}).content.decode()


def test_sentences_and_pages_share_one_style_per_language(settings):
    from django.utils import translation

    when = timezone.make_aware(datetime(2026, 12, 3, 12, 6))
    with translation.override("en"):
        assert day(when.date()) == "3 December 2026"
        assert moment(when) == "3 December 2026, 12:06"
    with translation.override("fr"):
        assert day(when.date()) == "3 décembre 2026"
        assert moment(when) == "3 décembre 2026, 12:06"


def test_the_statement_dates_are_not_american(client):
    alice, bob = MemberFactory(), MemberFactory()
    transfer_post(payer=alice, payee=bob, minutes=30, idempotency_key="t-1", reference="gift")
    client.force_login(bob)
    today = timezone.localdate()
    page = _get(client, reverse("ledger:account"), "en")
    assert today.strftime("%m/%d/%Y") not in page
    assert f"{today.day} {today.strftime('%b')} {today.year}" in page


def test_the_time_page_period_reads_as_days_and_a_gift_is_worded_in_french(client):
    alice, bob = MemberFactory(), MemberFactory()
    transfer_post(payer=alice, payee=bob, minutes=30, idempotency_key="t-2", reference="gift")
    client.force_login(bob)
    page = _get(client, reverse("ledger:account"), "fr")
    assert "Ville de départ" not in page and "Ville d’arrivée" not in page and "Ville d'arrivée" not in page
    assert '<label for="id_date_from">Du <' in page
    assert '<label for="id_date_to">Au <' in page
    assert ">don<" in page
    assert ">gift<" not in page
    assert ">gift<" in _get(client, reverse("ledger:account"), "en")


def test_my_data_dates_and_colons(client):
    member = MemberFactory()
    member_set_consent(member=member, kind="email", granted=True)
    client.force_login(member)
    english = _get(client, reverse("members:my-data"), "en")
    assert " p.m." not in english and " a.m." not in english
    assert timezone.localdate().strftime("%B") in english
    french = _get(client, reverse("members:my-data"), "fr")
    assert f"{NBSP}:</strong>" in french
    assert "accordé:" not in french.replace(" ", "")


def test_a_refused_loan_names_its_days_in_the_readers_style(django_capture_on_commit_callbacks):
    from django.utils import translation

    owner = MemberFactory()
    drill = ListingFactory(owner=owner, terms=Terms.LEND)
    start = timezone.localdate() + timedelta(days=3)
    first = es.exchange_request(listing=drill, asker=MemberFactory(), start_date=start, end_date=start)
    es.exchange_accept(exchange=first, by=owner)
    with translation.override("fr"), pytest.raises(es.ExchangeError) as refused:
        es.exchange_request(listing=drill, asker=MemberFactory(), start_date=start, end_date=start)
    message = " ".join(refused.value.messages)
    assert start.isoformat() not in message
    assert day(start) in message or str(start.day) in message


def test_an_exchange_pages_title_has_the_french_colon(client):
    owner = MemberFactory()
    drill = ListingFactory(owner=owner, terms=Terms.LEND, title="Perceuse")
    start = timezone.localdate() + timedelta(days=3)
    deal = es.exchange_request(listing=drill, asker=MemberFactory(), start_date=start, end_date=start)
    client.force_login(owner)
    page = _get(client, reverse("exchanges:detail", args=[deal.pk]), "fr")
    assert f"<title>Prêt{NBSP}: Perceuse · Partage</title>" in page


def test_a_toasts_open_link_is_a_verb_in_french(client):
    client.force_login(MemberFactory())
    page = _get(client, reverse("notifications:list"), "fr")
    assert 'data-open="Ouvrir"' in page
    assert 'data-open="Open"' in _get(client, reverse("notifications:list"), "en")
