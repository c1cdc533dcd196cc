"""Property-based tests of what a member types into the listing form: amounts, hours,
titles, descriptions and ride departures. Whatever the text, the form either cleans it
to an integer within the platform's bounds or answers with a ValidationError (never
another exception), and what it stores is trimmed and shown escaped.

Tests that touch the database run each hypothesis example inside its own
transaction.atomic() that is rolled back, so every example starts from the same member
(a function-scoped fixture on purpose, hence the suppressed health check)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import normalize_newlines
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from listings import services
from listings.forms import (
    EurosField,
    HoursField,
    ListingForm,
    format_euros,
    format_hours,
    parse_euros,
    parse_hours,
)
from listings.models import Kind, Listing
from listings.services import MAX_AMOUNT_CENTS, MAX_MINUTES, ListingData
from tests.factories import category

LOCAL = "%Y-%m-%dT%H:%M"

with_db = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text that looks like a number often enough to reach every branch of the parsers, and
# anything at all the rest of the time.
numberish = st.text(alphabet="0123456789.,:-+hH €\u00a0\u202feE٣", max_size=24)
any_text = st.one_of(
    numberish,
    st.from_regex(r"[+-]?\d{0,9}([.,]\d{0,4})?( ?€)?", fullmatch=True),
    st.from_regex(r"\d{1,4}[:h]\d{1,3}", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-0", "1e3", "٣", "²", "0.001", "100000.01", "1_000"]),
    st.text(max_size=40),
)


# --- the money and hours fields ----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=any_text)
@example(text="100 000,00 €")
@example(text="100000.01")
@example(text="0")
def test_a_euros_field_cleans_any_text_to_bounded_cents_or_a_validation_error(text):
    try:
        cents = EurosField().clean(text)
    except ValidationError:
        return
    assert type(cents) is int
    assert 0 <= cents <= MAX_AMOUNT_CENTS


@settings(max_examples=300, deadline=None)
@given(text=any_text)
@example(text="100")
@example(text="99:59")
@example(text="100h01")
@example(text="0:01")
def test_an_hours_field_cleans_any_text_to_bounded_minutes_or_a_validation_error(text):
    try:
        minutes = HoursField().clean(text)
    except ValidationError:
        return
    if minutes is None:  # left empty: the field is optional
        assert text.strip() == ""
        return
    assert type(minutes) is int
    assert 1 <= minutes <= MAX_MINUTES


@st.composite
def written_amounts(draw) -> tuple[int, str]:
    """Cents and one way a person writes them: '1 250,00 €', '€12.5', '0,07', '3'."""
    cents = draw(st.integers(min_value=0, max_value=MAX_AMOUNT_CENTS))
    euros, rest = divmod(cents, 100)
    group = draw(st.sampled_from(["", " ", "\u00a0", "\u202f"]))
    whole = f"{euros:,}".replace(",", group)
    separator = draw(st.sampled_from([".", ","]))
    if rest == 0:
        decimals = draw(st.sampled_from(["", separator + "00", separator + "0", separator]))
    elif rest % 10 == 0:
        decimals = separator + draw(st.sampled_from([f"{rest // 10}", f"{rest:02d}"]))
    else:
        decimals = f"{separator}{rest:02d}"
    text = whole + decimals
    text = draw(st.sampled_from([text, f"{text} €", f"{text}€", f"€{text}", f" {text} "]))
    return cents, text


@settings(max_examples=200, deadline=None)
@given(case=written_amounts())
def test_an_amount_written_any_usual_way_reads_as_the_same_cents(case):
    cents, text = case
    assert parse_euros(text) == cents
    assert EurosField().clean(text) == cents


@settings(max_examples=200, deadline=None)
@example(cents=0)
@example(cents=MAX_AMOUNT_CENTS)
@given(cents=st.integers(min_value=0, max_value=MAX_AMOUNT_CENTS))
def test_a_formatted_amount_parses_back_to_the_same_cents(cents):
    field = EurosField()
    # What the edit form shows is what it reads back when the member changes nothing.
    assert field.clean(field.prepare_value(cents)) == cents
    assert parse_euros(format_euros(cents) or "0") == cents


@settings(max_examples=200, deadline=None)
@example(minutes=1)
@example(minutes=MAX_MINUTES)
@given(minutes=st.integers(min_value=1, max_value=MAX_MINUTES))
def test_formatted_hours_parse_back_to_the_same_minutes(minutes):
    field = HoursField()
    assert field.clean(field.prepare_value(minutes)) == minutes
    assert parse_hours(format_hours(minutes)) == minutes
    hours, rest = divmod(minutes, 60)
    assert parse_hours(f"{hours}:{rest:02d}") == minutes
    assert parse_hours(f"{hours}h{rest:02d}") == minutes


# --- titles and descriptions --------------------------------------------------------------

# Markup a browser would run or render if the page did not escape it.
payloads = st.sampled_from([
    "", "<script>alert('x')</script>", '<img src=x onerror="alert(1)">', "</h1><b>bold</b>",
    "&amp; &lt;", "\"quoted\" 'single'", "{{ listing.owner.email }}", "{% csrf_token %}",
])
titles = st.builds(lambda a, p, b: a + p + b, st.text(max_size=70), payloads, st.text(max_size=70))
descriptions = st.one_of(
    st.builds(lambda a, p, b: a + p + b, st.text(max_size=300), payloads, st.text(max_size=300)),
    st.text(alphabet=st.sampled_from(" \t\r\n\u00a0\u2028x<"), max_size=50),
)


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


def submit(member, kind: str, post: dict) -> tuple[ListingForm, Listing | None]:
    """What the create view does: the form, then the service, its refusals on the form."""
    form = ListingForm(post, kind=kind, owner=member)
    if not form.is_valid():
        return form, None
    try:
        listing = services.listing_create(owner=member, kind=kind, data=form.listing_data())
    except ValidationError as error:
        form.add_service_errors(error)
        return form, None
    return form, listing


def acceptable(text: str, max_length: int) -> bool:
    """What the rules accept: something left after trimming, within the length, no NUL."""
    trimmed = text.strip()
    return bool(trimmed) and len(trimmed) <= max_length and "\x00" not in trimmed


@with_db
@given(title=titles, description=descriptions)
def test_a_title_and_description_are_refused_on_the_form_or_stored_trimmed_and_shown_escaped(
    member, client, title, description
):
    with transaction.atomic():
        form, listing = submit(member, Kind.ITEM, item_post(title=title, description=description))
        expected_ok = acceptable(title, 120) and acceptable(description, 4000)
        if listing is None:
            assert not expected_ok, form.errors
            assert set(form.errors) <= {"title", "description"} and form.errors
            assert not Listing.objects.exists()
        else:
            assert expected_ok
            listing.refresh_from_db()
            assert listing.title == title.strip()
            assert listing.description == description.strip()

            page = client.get(listing.get_absolute_url())
            assert page.status_code == 200
            html = page.content.decode()
            assert f"<h1>{escape(listing.title)}</h1>" in html
            # linebreaks: each line is escaped on its own, joined by <br> or new paragraphs.
            for line in normalize_newlines(listing.description).split("\n"):
                assert escape(line) in html
            for markup in ("<script>alert('x')</script>", '<img src=x onerror="alert(1)">',
                           "<b>bold</b>"):
                if markup in title or markup in description:
                    assert markup not in html
        transaction.set_rollback(True)


# --- ride departures ------------------------------------------------------------------------

# Naive local times, as the datetime-local input sends them. Bounds are fixed when the
# module loads: "before" stays in the past however long the run takes.
_now = datetime.now()
past_times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=_now - timedelta(minutes=2)),
    st.integers(min_value=2, max_value=60 * 24 * 90).map(lambda n: _now - timedelta(minutes=n)),
).map(lambda d: d.replace(second=0, microsecond=0))
# Daytime only: 02:00-03:00 local may not exist (or exist twice) on a DST change, which
# the form refuses as an impossible time, rightly but for another reason.
future_times = st.datetimes(
    min_value=_now + timedelta(days=1), max_value=_now + timedelta(days=3 * 365)
).map(lambda d: d.replace(hour=6 + d.hour % 16, second=0, microsecond=0))


def as_input(moment: datetime) -> str:
    # strftime("%Y") does not pad years before 1000; the browser does.
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M}"


@with_db
@given(departs=past_times)
def test_a_ride_departing_at_any_past_time_is_refused_and_not_stored(member, departs):
    with transaction.atomic():
        form, ride = submit(member, Kind.RIDE, ride_post(departs_at=as_input(departs)))
        assert ride is None
        assert set(form.errors) == {"departs_at"}
        assert not Listing.objects.exists()
        transaction.set_rollback(True)


@with_db
@given(departs=past_times)
def test_the_listing_service_refuses_any_past_departure_too(member, departs):
    data = ListingData(
        terms="share", title="Annecy to Geneva", description="Monday.",
        category=category("carpool"), origin_name="Annecy (FR)", destination_name="Geneva (CH)",
        departs_at=timezone.make_aware(departs), seats=3,
    )
    with transaction.atomic():
        with pytest.raises(ValidationError) as error:
            services.listing_create(owner=member, kind=Kind.RIDE, data=data)
        assert "departs_at" in error.value.message_dict
        assert not Listing.objects.exists()
        transaction.set_rollback(True)


@with_db
@given(departs=future_times)
def test_a_ride_departing_at_a_future_time_is_stored_to_the_minute(member, departs):
    with transaction.atomic():
        form, ride = submit(member, Kind.RIDE, ride_post(departs_at=as_input(departs)))
        assert form.errors == {}
        ride.refresh_from_db()
        assert timezone.localtime(ride.departs_at).replace(tzinfo=None) == departs
        transaction.set_rollback(True)
