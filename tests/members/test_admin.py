"""The members admin: moderators see members and consents, and can erase a location or a
photo only through the services (so the withdrawal is recorded and files are removed)."""

import pytest
from django.urls import reverse

from members.models import ConsentRecord, Member
from members.services import member_share_location, member_update_profile
from tests.factories import MemberFactory, image_upload


@pytest.fixture
def admin_client(client, db):
    root = Member.objects.create_superuser("root@example.com", "pw-long-enough-1")
    client.force_login(root)
    return client


def test_the_admin_pages_open(admin_client, member):
    member_share_location(member=member, town="Annecy")
    for url in (
        reverse("admin:members_member_changelist"),
        reverse("admin:members_member_change", args=[member.pk]),
        reverse("admin:members_member_add"),
        reverse("admin:members_consentrecord_changelist"),
    ):
        assert admin_client.get(url).status_code == 200, url


def test_the_admin_never_shows_the_exact_home(admin_client, member):
    member_share_location(member=member, lat=45.899234, lng=6.129456)
    html = admin_client.get(reverse("admin:members_member_change", args=[member.pk])).content
    assert b"45.899234" not in html
    assert b"6.129456" not in html


def test_an_admin_can_create_a_member(admin_client):
    response = admin_client.post(reverse("admin:members_member_add"), {
        "email": "new@example.com", "display_name": "New", "usable_password": "true",
        "password1": "pw-long-enough-1X", "password2": "pw-long-enough-1X",
        "consents-TOTAL_FORMS": "0", "consents-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302
    assert Member.objects.get(email="new@example.com").display_name == "New"


def test_the_erase_location_action_records_the_withdrawal(admin_client, member, other_member):
    member_share_location(member=member, town="Annecy")
    response = admin_client.post(reverse("admin:members_member_changelist"), {
        "action": "withdraw_location", "_selected_action": [member.pk, other_member.pk],
    })
    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.has_location
    assert member.home_lat is None
    assert ConsentRecord.objects.filter(member=member, granted=False).count() == 1
    assert not ConsentRecord.objects.filter(member=other_member).exists()


def test_the_remove_photo_action_removes_the_files(admin_client, settings, django_capture_on_commit_callbacks):
    member = MemberFactory(display_name="Pat", bio="Hello")
    member_update_profile(member=member, display_name="Pat", bio="Hello", neighbourhood="",
                          languages="", avatar=image_upload())
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:members_member_changelist"), {
            "action": "remove_avatar", "_selected_action": [member.pk],
        })
    member.refresh_from_db()
    assert not member.avatar
    assert member.bio == "Hello"
    assert list((settings.MEDIA_ROOT / "avatars").iterdir()) == []
