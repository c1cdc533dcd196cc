"""The time bank pages: account, statement, CSV, chart, sending hours, public profile."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from ledger import services
from ledger.forms import parse_duration
from ledger.models import Entry, Transfer
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _post(payer, payee, minutes, note="", key=None):
    return services.transfer_post(payer=payer, payee=payee, minutes=minutes, note=note,
                                  idempotency_key=key or uuid.uuid4().hex)


def _balance(member) -> int:
    return services.account_for(member).balance_minutes


def _send(client, **data):
    payload = {"token": str(uuid.uuid4()), "note": "Thanks for the help", **data}
    return client.post(reverse("ledger:send"), payload)


# Account page


def test_it_sends_anonymous_visitors_to_log_in(client):
    for name in ["ledger:account", "ledger:statement-csv", "ledger:send"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_it_shows_the_balance_and_limits(member_client, member, other_member):
    _post(other_member, member, 90)
    response = member_client.get(reverse("ledger:account"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 h 30" in body
    assert "−10 h" in body and "40 h" in body


def test_the_statement_shows_only_own_lines_with_the_running_balance(
    member_client, member, other_member
):
    third, fourth = MemberFactory(display_name="Carol"), MemberFactory(display_name="Dan")
    _post(other_member, member, 90, note="mowing")
    _post(member, third, 30, note="cake")
    _post(third, fourth, 45, note="not-mine-at-all")
    response = member_client.get(reverse("ledger:account"))
    rows = response.context["rows"]
    assert [entry.minutes for entry, _other in rows] == [90, -30]
    assert [entry.balance_after for entry, _other in rows] == [90, 60]
    assert [other.display_name for _entry, other in rows] == ["Bob", "Carol"]
    body = response.content.decode()
    assert "mowing" in body and "cake" in body
    assert "not-mine-at-all" not in body


def test_the_period_filter_keeps_the_lines_of_those_days(member_client, member, other_member):
    old = _post(other_member, member, 60, note="long-ago")
    Entry.objects.filter(transfer=old).update(created_at=timezone.now() - timedelta(days=40))
    _post(other_member, member, 30, note="this-week")
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    response = member_client.get(reverse("ledger:account"), {"date_from": since})
    body = response.content.decode()
    assert "this-week" in body and "long-ago" not in body
    # The running balance is the one recorded, not recomputed from the visible lines.
    assert [entry.balance_after for entry, _other in response.context["rows"]] == [90]


@pytest.mark.parametrize("params", [
    {"date_from": "yesterday"},
    {"date_to": "2024-02-31"},
    {"date_from": "2024-05-02", "date_to": "2024-05-01"},
])
def test_bad_dates_are_field_errors_not_crashes(member_client, member, other_member, params):
    _post(other_member, member, 15, note="still-listed")
    response = member_client.get(reverse("ledger:account"), params)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "errorlist" in response.content.decode()


def test_the_statement_is_paginated(member_client, member, other_member):
    for _ in range(30):
        _post(other_member, member, 1)
    first = member_client.get(reverse("ledger:account"))
    second = member_client.get(reverse("ledger:account"), {"page": 2})
    assert len(first.context["rows"]) == 25
    assert [entry.balance_after for entry, _other in second.context["rows"]] == list(range(26, 31))


def test_the_chart_is_well_formed_accessible_svg(member_client, member, other_member):
    _post(other_member, member, 120)
    _post(member, other_member, 30)
    body = member_client.get(reverse("ledger:account")).content.decode()
    start = body.index("<svg class=\"balance-chart\"")
    svg = body[start:body.rindex("</svg>", start, body.index("</figure>", start)) + len("</svg>")]
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.find(f"{ns}title").text
    assert root.find(f"{ns}desc").text == "From 0 min to 1 h 30; lowest 0 min, highest 2 h."
    path = root.find(f"{ns}svg/{ns}path").get("d")
    assert path.startswith("M") and path.count("V") == 3  # two lines + today
    assert "<script" not in svg
    # Axes: the highest balance and zero on their lines, and the days under the plot.
    values = [t.text for t in root.iter(f"{ns}text") if t.get("class") == "balance-chart-value"]
    dates = [t.text for t in root.iter(f"{ns}text") if t.get("class") == "balance-chart-date"]
    assert values == ["2 h", "0 min"]
    assert len(dates) == 3 and dates[-1] == formats.date_format(timezone.localdate(), "j M")


def test_the_chart_draws_a_bounded_number_of_points(member_client, member, other_member):
    for _ in range(210):
        _post(other_member, member, 1)
    body = member_client.get(reverse("ledger:account")).content.decode()
    start = body.index("<path class=\"balance-chart-line\"")
    path = ET.fromstring(body[start:body.index("/>", start) + 2]).get("d")
    assert path.count("V") <= 201


# CSV


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_has_own_lines_and_running_balance(member_client, member, other_member):
    _post(other_member, member, 90, note="mowing")
    _post(member, other_member, 20, note="bread")
    _post(other_member, MemberFactory(), 10, note="elsewhere")
    response = member_client.get(reverse("ledger:statement-csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    rows = _csv_rows(response)
    assert rows[0] == ["date", "other member", "note", "reference", "minutes", "balance_after"]
    assert [row[1:] for row in rows[1:]] == [
        ["Bob", "mowing", "", "90", "90"],
        ["Bob", "bread", "", "-20", "70"],
    ]


def test_the_csv_escapes_formulas(member_client, member):
    evil = MemberFactory(display_name="=HYPERLINK(\"http://x\")")
    _post(evil, member, 10, note="+cmd|' /C calc'!A0")
    _post(evil, member, 10, note="@SUM(A1)")
    _post(evil, member, 10, note="-2+3")
    rows = _csv_rows(member_client.get(reverse("ledger:statement-csv")))
    assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\")"] * 3
    assert [row[2] for row in rows[1:]] == ["'+cmd|' /C calc'!A0", "'@SUM(A1)", "'-2+3"]


def test_the_csv_uses_the_same_filters(member_client, member, other_member):
    old = _post(other_member, member, 60, note="long-ago")
    Entry.objects.filter(transfer=old).update(created_at=timezone.now() - timedelta(days=40))
    _post(other_member, member, 30, note="recent")
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    rows = _csv_rows(member_client.get(reverse("ledger:statement-csv"), {"date_from": since}))
    assert [row[2] for row in rows[1:]] == ["recent"]


def test_the_csv_sends_bad_dates_back_to_the_page(member_client):
    response = member_client.get(reverse("ledger:statement-csv"), {"date_from": "nope"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("ledger:account"))


# Sending hours


@pytest.mark.parametrize("text,minutes", [
    ("1.5", 90), ("1,5", 90), ("1:30", 90), ("90 min", 90), ("2", 120), ("2 h", 120),
    ("1h30", 90), ("1 h 05", 65), ("0.25", 15), ("100", 6000),
])
def test_durations_are_read_as_whole_minutes(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["0", "-1", "0 min", "0.001", "1.01", "100.5", "101", "abc",
                                  "", "1:75", "1e3"])
def test_bad_durations_are_refused(text):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        parse_duration(text)


def test_the_send_form_carries_a_fresh_token(member_client):
    first = member_client.get(reverse("ledger:send"))
    second = member_client.get(reverse("ledger:send"))
    assert first.context["form"].initial["token"] != second.context["form"].initial["token"]
    assert 'name="token"' in first.content.decode()


def test_it_sends_hours_to_a_chosen_member(member_client, member, other_member):
    response = _send(member_client, to=other_member.pk, hours="1:30")
    assert response.status_code == 302
    assert response["Location"] == reverse("ledger:account")
    assert _balance(member) == -90 and _balance(other_member) == 90
    transfer = Transfer.objects.get()
    assert transfer.note == "Thanks for the help" and transfer.created_by == member
    page = member_client.get(response["Location"])
    assert "Bob received your time" in page.content.decode()


def test_a_profile_link_prefills_the_recipient_without_showing_their_email(
    member_client, member, other_member
):
    response = member_client.get(reverse("ledger:send"), {"to": other_member.pk})
    body = response.content.decode()
    assert "Bob" in body and other_member.email not in body
    token = response.context["form"].initial["token"]
    posted = member_client.post(reverse("ledger:send"), {
        "to": other_member.pk, "hours": "45 min", "note": "plants", "token": token})
    assert posted.status_code == 302
    assert _balance(other_member) == 45


@pytest.mark.parametrize("hours", ["0", "-2", "0.001", "101", "many"])
def test_bad_amounts_post_nothing(member_client, other_member, hours):
    response = _send(member_client, to=other_member.pk, hours=hours)
    assert response.status_code == 200
    assert response.context["form"].errors["hours"]
    assert not Transfer.objects.exists()


def test_it_refuses_sending_to_oneself(member_client, member):
    response = _send(member_client, to=member.pk, hours="1")
    assert response.status_code == 200
    assert "yourself" in response.content.decode()
    assert not Transfer.objects.exists()


def test_no_email_lookup_tells_whether_an_address_is_registered(member_client, other_member):
    """The old form answered "No member has this email address" for an unknown one (with
    hours=0 nothing was even sent). Now no email is looked up: both answers are alike."""
    answers = []
    for address in ("nobody@example.com", other_member.email):
        response = _send(member_client, recipient=address, hours="0")
        assert response.status_code == 200
        answers.append(response.context["form"].errors)
    assert answers[0] == answers[1]
    assert "No member has this email address" not in str(answers)
    assert not Transfer.objects.exists()


def test_the_page_asks_for_no_email_address(member_client):
    body = member_client.get(reverse("ledger:send")).content.decode()
    assert 'type="email"' not in body and 'name="recipient"' not in body


def test_an_unknown_member_id_is_refused_without_a_crash(member_client):
    response = _send(member_client, to="999999", hours="1")
    assert response.status_code == 200
    assert response.context["form"].errors["to"] == ["This member cannot receive time."]
    assert not Transfer.objects.exists()


def test_the_picker_lists_the_people_one_has_dealt_with_only(member_client, member):
    from exchanges.models import State
    from messaging import conversations
    from tests.exchanges.factories import make_exchange
    from tests.factories import ListingFactory

    lender, writer, giver = (MemberFactory(display_name=n) for n in ("Lena", "Wanda", "Gus"))
    MemberFactory(display_name="Stranger")
    gone = MemberFactory(display_name="Gone")
    make_exchange(listing=ListingFactory(owner=lender), asker=member, state=State.COMPLETED)
    conversations.conversation_for_listing(listing=ListingFactory(owner=member), member=writer)
    _post(giver, member, 30)
    make_exchange(listing=ListingFactory(owner=gone), asker=member, state=State.COMPLETED)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    form = member_client.get(reverse("ledger:send")).context["form"]
    assert [m.public_name for m in form.people] == ["Gus", "Lena", "Wanda"]
    choices = [label for _value, label in form.fields["to"].widget.choices]
    assert "Stranger" not in choices and "Gone" not in choices and member.public_name not in choices
    response = _send(member_client, to=lender.pk, hours="1")
    assert response.status_code == 302 and _balance(lender) == 60


def test_with_nobody_to_list_the_page_says_how_to_find_a_member(member_client):
    body = member_client.get(reverse("ledger:send")).content.decode()
    assert "open their profile" in body


def test_it_refuses_a_suspended_member(member_client, other_member):
    other_member.is_active = False
    other_member.save(update_fields=["is_active"])
    response = _send(member_client, to=other_member.pk, hours="1")
    assert response.status_code == 200
    assert not Transfer.objects.exists()


def test_it_refuses_going_past_the_credit_limit(member_client, member, other_member):
    response = _send(member_client, to=other_member.pk, hours="10:01")
    assert response.status_code == 200
    assert "Not enough time" in response.content.decode()
    assert not Transfer.objects.exists()
    assert _balance(member) == 0


def test_a_double_submit_posts_once(member_client, member, other_member):
    token = str(uuid.uuid4())
    for _ in range(2):
        response = _send(member_client, to=other_member.pk, hours="2", token=token)
        assert response.status_code == 302
    assert Transfer.objects.count() == 1
    assert _balance(member) == -120


def test_a_missing_token_posts_nothing(member_client, other_member):
    response = member_client.post(reverse("ledger:send"), {
        "to": other_member.pk, "hours": "1", "note": "x"})
    assert response.status_code == 200
    assert not Transfer.objects.exists()


# Public profile


def test_the_profile_shows_hours_given_and_received_but_no_balance(client, member, other_member):
    _post(member, other_member, 150)
    _post(other_member, member, 30)
    reversed_one = _post(member, other_member, 45)
    services.transfer_reverse(transfer=reversed_one, by=None, reason="mistake")
    client.force_login(other_member)
    response = client.get(reverse("members:profile", args=[member.pk]))
    body = response.content.decode()
    assert "Hours given" in body and "2 h 30" in body
    assert "Hours received" in body and "30 min" in body
    # Balance is −2 h; the profile never shows it.
    assert "−2 h" not in body and "Balance" not in body


def test_the_send_link_shows_only_to_other_logged_in_members(client, member, other_member):
    url = reverse("members:profile", args=[member.pk])
    send_url = f"{reverse('ledger:send')}?to={member.pk}"
    assert send_url not in client.get(url).content.decode()
    client.force_login(member)
    assert send_url not in client.get(url).content.decode()
    client.force_login(other_member)
    assert send_url in client.get(url).content.decode()


def test_a_member_who_never_traded_time_shows_no_figures(client, member):
    body = client.get(reverse("members:profile", args=[member.pk])).content.decode()
    assert "Hours given" not in body and "Time bank" not in body.split("<main")[1]


def test_the_profile_counts_in_at_most_two_queries(client, member, other_member,
                                                     django_assert_max_num_queries):
    from django.template import Context, Template

    _post(member, other_member, 30)
    template = Template("{% load ledger_tags %}{% hours_given_received member %}")
    with django_assert_max_num_queries(2):
        html = template.render(Context({"member": member}))
    assert "30 min" in html
