"""Consents on the My data page: location, email notifications and who sees the
profile, each given or withdrawn with its time, taking effect at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from members.models import ConsentRecord
from members.services import member_set_consent, member_share_location
from messaging.services import member_accepts_email

pytestmark = pytest.mark.django_db

Kind = ConsentRecord.Kind


def change(client: Client, kind: str, granted: str):
    return client.post(reverse("members:consent"), {"kind": kind, "granted": granted})


def test_the_page_shows_each_consent_in_force(member_client, member):
    html = member_client.get(reverse("members:my-data")).content.decode()
    assert "My consents" in html
    # Defaults: no location, email on, profile for members only.
    assert "Give: use my location" in html
    assert "Withdraw: email notifications" in html
    assert "Give: show my profile to everyone" in html
    assert "As it was when you joined" in html


def test_withdrawing_email_takes_effect_and_is_recorded(member_client, member):
    response = change(member_client, Kind.EMAIL, "no")
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.email_consent is False
    assert not member_accepts_email(member)
    record = ConsentRecord.objects.get(member=member, kind=Kind.EMAIL)
    assert record.granted is False
    html = member_client.get(reverse("members:my-data")).content.decode()
    assert "Withdrawn on" in html and "Give: email notifications" in html

    change(member_client, Kind.EMAIL, "yes")
    member.refresh_from_db()
    assert member.email_consent and member_accepts_email(member)
    assert ConsentRecord.objects.filter(member=member, kind=Kind.EMAIL).count() == 2


def test_the_profile_consent_opens_the_profile_to_visitors(member_client, member):
    visitor = Client()
    profile = reverse("members:profile", args=[member.pk])
    assert member.public_name not in visitor.get(profile).content.decode()
    change(member_client, Kind.PUBLIC_PROFILE, "yes")
    assert member.public_name in visitor.get(profile).content.decode()
    assert member.public_name in visitor.get(
        reverse("reviews:member", args=[member.pk])).content.decode()
    change(member_client, Kind.PUBLIC_PROFILE, "no")
    assert member.public_name not in visitor.get(profile).content.decode()
    assert member.public_name not in visitor.get(
        reverse("reviews:member", args=[member.pk])).content.decode()


def test_withdrawing_the_location_erases_it(member_client, member):
    member_share_location(member=member, town="Annecy")
    change(member_client, Kind.LOCATION, "no")
    member.refresh_from_db()
    assert not member.location_consent
    assert member.home_lat is None and member.approx_lat is None and member.home_place == ""
    assert ConsentRecord.objects.filter(member=member, kind=Kind.LOCATION).first().granted is False


def test_giving_the_location_asks_for_a_town(member_client, member):
    response = change(member_client, Kind.LOCATION, "yes")
    assert response.status_code == 302 and response.url == reverse("members:location")
    member.refresh_from_db()
    assert not member.location_consent
    with pytest.raises(ValidationError):
        member_set_consent(member=member, kind=Kind.LOCATION, granted=True)


def test_the_same_answer_twice_records_once(member):
    member_set_consent(member=member, kind=Kind.PUBLIC_PROFILE, granted=True)
    member_set_consent(member=member, kind=Kind.PUBLIC_PROFILE, granted=True)
    member_set_consent(member=member, kind=Kind.EMAIL, granted=True)  # already given
    assert ConsentRecord.objects.filter(member=member).count() == 1


@pytest.mark.parametrize("kind", ["", "cookies", "email' OR 1=1"])
def test_an_unknown_consent_is_refused(member_client, member, kind):
    assert change(member_client, kind, "no").status_code == 400
    assert not ConsentRecord.objects.filter(member=member).exists()
    with pytest.raises(ValidationError):
        member_set_consent(member=member, kind=kind, granted=False)


def test_visitors_cannot_change_consents(client, member):
    client.logout()
    response = change(client, Kind.EMAIL, "no")
    assert response.status_code == 302 and "login" in response.url
    member.refresh_from_db()
    assert member.email_consent


def test_the_export_says_which_consents_are_in_force(member_client, member):
    import io
    import json
    import zipfile

    change(member_client, Kind.EMAIL, "no")
    token_url = member_client.post(reverse("members:export")).url
    body = b"".join(member_client.get(token_url).streaming_content)
    profile = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("profile.json"))
    assert profile["email_consent"] is False and profile["profile_shown_to_everyone"] is False
