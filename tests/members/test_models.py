"""Member model: database constraints and small properties."""

import pytest
from django.db import IntegrityError, transaction

from members.models import ConsentRecord, Member
from members.services import member_share_location
from tests.factories import MemberFactory


def test_the_database_refuses_a_location_without_consent(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(home_lat=45.9, home_lng=6.1)
    member.refresh_from_db()
    assert member.home_lat is None


def test_the_database_refuses_a_public_point_without_consent(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(approx_lat=45.9, approx_lng=6.1)


def test_the_database_refuses_withdrawing_consent_but_keeping_the_point(member):
    member_share_location(member=member, town="Annecy")
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(location_consent=False)
    member.refresh_from_db()
    assert member.location_consent is True


def test_the_database_refuses_coordinates_out_of_range(member):
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(
            location_consent=True, home_lat=91.0, home_lng=6.1
        )


def test_emails_are_stored_in_lower_case(db):
    member = Member.objects.create_user("Carol@Example.COM", "pw-long-enough-1")
    assert member.email == "carol@example.com"


def test_the_public_name_prefers_the_display_name(db):
    assert str(MemberFactory(display_name="Dora")) == "Dora"


def test_the_language_list_splits_on_commas(db):
    member = MemberFactory(languages="French, ,English ,")
    assert member.language_list == ["French", "English"]


def test_consent_records_read_newest_first(member):
    first = ConsentRecord.objects.create(member=member, kind="location", granted=True)
    second = ConsentRecord.objects.create(member=member, kind="location", granted=False)
    assert list(ConsentRecord.objects.filter(member=member)) == [second, first]
