"""Members own their data: they download all of it, and they can delete their account
once nobody depends on them, leaving what others need anonymised."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.urls import reverse

from exchanges.models import Exchange, State
from ledger import services as ledger
from ledger.audit import ledger_audit
from listings import services as listing_services
from members import deletion, export
from members.models import ConsentRecord, Member
from members.services import member_share_location
from messaging import conversations
from messaging.models import Message
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory, image_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(password):
    member = MemberFactory(display_name="Alice Martin", bio="I fix bikes.")
    assert EmailAddress.objects.filter(user=member).exists()
    return member


@pytest.fixture
def bob():
    return MemberFactory(display_name="Bob")


@pytest.fixture
def history(alice, bob):
    """Alice lends a drill (with a photo) to Bob, they chat, and Bob pays her an hour."""
    member_share_location(member=alice, town="Annecy")
    drill = ListingFactory(owner=alice, title="Drill")
    listing_services.photo_add(listing=drill, by=alice, upload=image_upload())
    loan = make_exchange(listing=drill, asker=bob, state=State.COMPLETED)
    conversation = conversations.conversation_for_listing(listing=drill, member=bob)
    conversations.message_post(conversation=conversation, sender=bob, body="Is it free Sunday?")
    conversations.message_post(conversation=conversation, sender=alice, body="Yes, come at 10.")
    transfer = ledger.transfer_post(payer=bob, payee=alice, minutes=60, idempotency_key="t1",
                                    note="hedge")
    return {"drill": drill, "loan": loan, "conversation": conversation, "transfer": transfer}


def download(client) -> zipfile.ZipFile:
    response = client.post(reverse("members:export"))
    assert response.status_code == 302
    archive = client.get(response.url)
    assert archive.status_code == 200
    assert archive["Content-Type"] == "application/zip"
    assert archive.streaming
    return zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content)))


# --- export ------------------------------------------------------------------------------


def test_the_archive_holds_every_kind_of_data_and_a_readme(client, alice, history):
    client.force_login(alice)
    archive = download(client)
    names = set(archive.namelist())
    for name in ["README.txt", "profile.json", "consents.json", "listings.json",
                 "exchanges.json", "messages.json", "reviews.json", "ledger.json",
                 "saved_searches.json", "notifications.json", "devices.json"]:
        assert name in names
    assert archive.testzip() is None
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == alice.email
    assert profile["bio"] == "I fix bikes."
    assert json.loads(archive.read("consents.json"))[0]["kind"] == "location"
    listing = json.loads(archive.read("listings.json"))[0]
    assert listing["title"] == "Drill"
    photo = listing["photos"][0]["file"]
    assert archive.read(photo)[:4] == b"RIFF"  # the stored WebP itself
    exchange = json.loads(archive.read("exchanges.json"))[0]
    assert exchange["other_party"] == "Bob"
    assert "email" not in json.dumps(exchange)
    bodies = [m["body"] for m in json.loads(archive.read("messages.json"))[0]["messages"]]
    assert bodies == ["Is it free Sunday?", "Yes, come at 10."]
    statement = json.loads(archive.read("ledger.json"))["statement"]
    assert statement[0]["minutes"] == 60 and statement[0]["other_member"] == "Bob"
    assert "Your data from Partage" in archive.read("README.txt").decode()


def test_the_link_is_for_this_member_only(client, alice, bob, history):
    client.force_login(alice)
    link = client.post(reverse("members:export")).url
    client.force_login(bob)
    assert client.get(link).status_code == 404
    client.logout()
    assert client.get(link).status_code == 302  # to log in


def test_the_link_expires(client, alice, history, settings, monkeypatch):
    client.force_login(alice)
    token = export.export_token(alice)
    monkeypatch.setattr(export, "EXPORT_LINK_MAX_AGE", timedelta(seconds=-1))
    url = reverse("members:export-download", args=[token])
    assert client.get(url).status_code == 404


def test_a_forged_link_is_refused(client, alice):
    client.force_login(alice)
    forged = signing.dumps({"member": alice.pk}, salt="another purpose")
    assert client.get(reverse("members:export-download", args=[forged])).status_code == 404


def test_sealed_reviews_about_the_member_are_not_exported(client, alice, bob, history):
    from reviews.models import Review

    Review.objects.create(exchange=history["loan"], author=bob, subject=alice, role="borrower",
                          rating=2, text="Sealed until Alice writes hers.")
    client.force_login(alice)
    reviews = json.loads(download(client).read("reviews.json"))
    assert reviews["received"] == []


def test_the_download_is_a_stream(alice, history):
    chunks = list(export.export_stream(alice))
    assert len(chunks) > 5


# --- deletion ------------------------------------------------------------------------------


def test_open_exchanges_and_debts_block_deletion_with_a_clear_list(client, alice, bob):
    drill = ListingFactory(owner=bob, title="Ladder")
    make_exchange(listing=drill, asker=alice, state=State.IN_PROGRESS)
    ledger.transfer_post(payer=alice, payee=bob, minutes=90, idempotency_key="debt")
    client.force_login(alice)
    page = client.get(reverse("members:my-data")).content.decode()
    assert "You still have “Ladder”" in page
    assert "1 h 30 below zero" in page
    response = client.post(reverse("members:delete"), {"password": "x", "confirm": "on"})
    assert response.status_code in (400, 409)
    with pytest.raises(deletion.AccountNotDeletable) as refused:
        deletion.account_delete(member=alice)
    assert len(refused.value.blockers) == 2
    alice.refresh_from_db()
    assert alice.erased_at is None and alice.is_active


def test_a_wrong_password_deletes_nothing(client, alice):
    client.force_login(alice)
    response = client.post(reverse("members:delete"), {"password": "wrong", "confirm": "on"})
    assert response.status_code == 400
    assert "That is not your password" in response.content.decode()
    assert Member.objects.get(pk=alice.pk).erased_at is None


def test_a_refused_deletion_shows_the_whole_page_again(client, alice, bob, password):
    """The page rendered again after a refusal still has every section: the consents
    vanished from it once."""
    make_exchange(listing=ListingFactory(owner=bob, title="Ladder"), asker=alice,
                  state=State.IN_PROGRESS)
    client.force_login(alice)
    full = client.get(reverse("members:my-data")).content.decode()
    for data in ({"password": "wrong", "confirm": "on"}, {"password": password, "confirm": "on"}):
        response = client.post(reverse("members:delete"), data)
        assert response.status_code in (400, 409)
        page = response.content.decode()
        assert 'id="consents-heading"' in page and 'id="consents-heading"' in full
        assert page.count('name="kind"') == full.count('name="kind"') > 0


def test_deleting_erases_personal_data_and_keeps_what_others_need(
        client, alice, bob, history, password, django_capture_on_commit_callbacks):
    email = alice.email
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("members:delete"), {"password": password, "confirm": "on"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.erased_at is not None
    assert not alice.is_active and not alice.has_usable_password()
    assert alice.email != email and alice.display_name == "" and alice.bio == ""
    assert alice.home_lat is None and not alice.location_consent
    assert not ConsentRecord.objects.filter(member=alice).exists()
    assert alice.public_name == "Former member"
    # Her messages are gone in substance, Bob's stay.
    bodies = list(Message.objects.filter(conversation=history["conversation"])
                  .order_by("pk").values_list("body", flat=True))
    assert bodies == ["Is it free Sunday?", "deleted"]
    # The deal stays for Bob, with its title, and her photos are gone.
    loan = Exchange.objects.get(pk=history["loan"].pk)
    assert loan.listing.title == "Drill" and loan.listing.description == ""
    assert not loan.listing.photos.exists()
    client.force_login(bob)
    page = client.get(loan.get_absolute_url()).content.decode()
    assert "Drill" in page and "Former member" in page and "Alice" not in page
    # Bob reads that her message was deleted, in his language.
    chat = reverse("conversations:detail", args=[history["conversation"].pk])
    assert "<p class=\"chat-body\">deleted</p>" in client.get(chat).content.decode()
    french = client.get(chat, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<p class=\"chat-body\">supprimé</p>" in french
    # The ledger still balances.
    assert ledger_audit().violations == []
    # She cannot sign in; her email can sign up again.
    client.logout()
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("account_signup"), {
        "email": email, "password1": "a-Fresh-pass-42", "password2": "a-Fresh-pass-42",
        "display_name": "Alice again", "accept_terms": "on"})
    assert response.status_code == 302
    assert Member.objects.filter(email=email).exclude(pk=alice.pk).exists()


def test_deleting_ends_every_session(client, alice, password):
    other_browser = client.__class__()
    other_browser.post(reverse("account_login"), {"login": alice.email, "password": password})
    client.post(reverse("account_login"), {"login": alice.email, "password": password})
    assert other_browser.get(reverse("members:my-data")).status_code == 200
    client.post(reverse("members:delete"), {"password": password, "confirm": "on"})
    assert other_browser.get(reverse("members:my-data")).status_code == 302


def test_the_ledger_audit_stays_clean_after_deleting_members(alice, bob, history):
    carol = MemberFactory()
    ledger.transfer_post(payer=alice, payee=carol, minutes=30, idempotency_key="c")
    for member in (alice, carol):
        deletion.account_delete(member=member)
    assert ledger_audit().violations == []


def test_the_archive_holds_the_profile_photo(client, alice):
    from members.services import member_update_profile

    member_update_profile(member=alice, display_name=alice.display_name, bio=alice.bio,
                          neighbourhood="", languages="", avatar=image_upload())
    client.force_login(alice)
    archive = download(client)
    profile = json.loads(archive.read("profile.json"))
    assert profile["has_photo"] is True
    assert archive.read(profile["photo_file"])[:4] == b"RIFF"


def test_without_a_photo_the_archive_names_none(client, alice):
    client.force_login(alice)
    archive = download(client)
    assert json.loads(archive.read("profile.json"))["photo_file"] is None
    assert not [name for name in archive.namelist() if name.startswith("photo.")]
