"""Alice downloads her data, then deletes her account; Bob, who borrowed her drill,
still reads their exchange correctly, with Alice shown as a former member."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from exchanges.models import State
from members.models import Member
from tests.e2e.test_borrow_journey import PHONE, log_in
from tests.exchanges.factories import make_exchange
from tests.factories import PASSWORD, ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_alice_takes_her_data_and_leaves_and_bob_keeps_his_history(browser, live_server,
                                                                   page, output_path):
    alice = MemberFactory(display_name="Alice", email="alice@example.com", bio="Bikes and tools.")
    MemberFactory(display_name="Bob", email="bob@example.com")
    bob_member = Member.objects.get(email="bob@example.com")
    drill = ListingFactory(owner=alice, title="Bosch cordless drill")
    loan = make_exchange(listing=drill, asker=bob_member, state=State.COMPLETED)

    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    alice_page = log_in(page.context, live_server.url, "alice@example.com")
    alice_page.goto(live_server.url + "/members/me/data/")
    alice_page.screenshot(path=str(folder / "my-data.png"))
    with alice_page.expect_download() as download_info:
        alice_page.get_by_role("button", name="Download my data").click()
    archive_path = folder / "data.zip"
    download_info.value.save_as(archive_path)
    with zipfile.ZipFile(archive_path) as archive:
        assert json.loads(archive.read("profile.json"))["bio"] == "Bikes and tools."
        assert json.loads(archive.read("exchanges.json"))[0]["listing"] == "Bosch cordless drill"

    alice_page.get_by_label("Your password").fill(PASSWORD)
    alice_page.get_by_label(re.compile("erased for good")).check()
    alice_page.get_by_role("button", name="Delete my account for good").click()
    expect(alice_page.locator("body")).to_contain_text("Your account is deleted")
    alice_page.screenshot(path=str(folder / "deleted.png"))

    bob_context = browser.new_context(**PHONE)
    try:
        bob = log_in(bob_context, live_server.url, "bob@example.com")
        bob.goto(live_server.url + loan.get_absolute_url())
        expect(bob.locator("main")).to_contain_text("Bosch cordless drill")
        expect(bob.locator("main")).to_contain_text("Former member")
        expect(bob.locator("main")).not_to_contain_text("Alice")
    finally:
        bob_context.close()

    # Alice's email and password no longer open anything.
    fresh = browser.new_context(**PHONE)
    try:
        login = fresh.new_page()
        login.goto(live_server.url + "/accounts/login/")
        login.get_by_label(re.compile("Email", re.I)).fill("alice@example.com")
        login.get_by_label(re.compile(r"^Password", re.I)).fill(PASSWORD)
        login.get_by_role("button", name=re.compile("Log in", re.I)).click()
        expect(login).to_have_url(re.compile("/accounts/login/"))
    finally:
        fresh.close()

