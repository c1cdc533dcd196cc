"""Sending hours on a 360 px phone, without JavaScript: the member picks the recipient
among the people they have dealt with, or follows a profile's "Send hours" link; no
email address is asked for. In English and in French."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from exchanges.models import State
from ledger import services as ledger
from tests.exchanges.factories import make_exchange
from tests.factories import PASSWORD, ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people():
    me = MemberFactory(display_name="Camille Martin")
    lender = MemberFactory(display_name="Léa Bernard")
    neighbour = MemberFactory(display_name="Hugo Petit")
    stranger = MemberFactory(display_name="Zoé Laurent")
    make_exchange(listing=ListingFactory(owner=lender, title="Échelle"), asker=me,
                  state=State.COMPLETED)
    ledger.transfer_post(payer=neighbour, payee=me, minutes=60, note="Jardin",
                         idempotency_key="e2e-send-hours")
    return {"me": me, "lender": lender, "neighbour": neighbour, "stranger": stranger}


def _phone_without_js(browser, locale: str):
    return browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                               is_mobile=True, has_touch=True, locale=locale,
                               java_script_enabled=False)


def _log_in(context, base_url: str, email: str):
    page = context.new_page()
    page.goto(base_url + "/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page).not_to_have_url(re.compile("/accounts/login/"))
    return page


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width}px wide"


def test_sending_hours_from_the_picker_and_from_a_profile(browser, live_server, people,
                                                          output_path):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    context = _phone_without_js(browser, "en-GB")
    page = _log_in(context, live_server.url, people["me"].email)

    page.goto(live_server.url + "/time/send/")
    _fits(page)
    expect(page.locator("input[type=email]")).to_have_count(0)
    options = page.locator("select[name=to] option").all_inner_texts()
    assert options[1:] == ["Hugo Petit", "Léa Bernard"]
    page.screenshot(path=str(folder / "send-hours-360-en.png"), full_page=True)
    page.locator("select[name=to]").select_option(label="Léa Bernard")
    page.locator("input[name=hours]").fill("1:30")
    page.locator("textarea[name=note]").fill("Merci pour l’échelle")
    page.locator("form.form-card button[type=submit]").click()
    expect(page.locator("body")).to_contain_text("Léa Bernard received your time")

    # Someone never dealt with: from their profile's link, preselected.
    page.goto(live_server.url + f"/members/{people['stranger'].pk}/")
    page.get_by_role("link", name="Send hours to Zoé Laurent").click()
    expect(page.locator("select[name=to]")).to_have_value(str(people["stranger"].pk))
    page.locator("input[name=hours]").fill("30 min")
    page.locator("textarea[name=note]").fill("Les confitures")
    page.locator("form.form-card button[type=submit]").click()
    expect(page.locator("body")).to_contain_text("Zoé Laurent received your time")
    context.close()

    french = _phone_without_js(browser, "fr-FR")
    page = _log_in(french, live_server.url, people["me"].email)
    page.goto(live_server.url + "/time/send/")
    _fits(page)
    expect(page.locator("label[for=id_to]")).to_have_text("Destinataire")
    expect(page.locator("select[name=to] option").first).to_have_text("Choisissez un membre")
    expect(page.locator("body")).to_contain_text("Ouvrez son profil et choisissez")
    page.screenshot(path=str(folder / "send-hours-360-fr.png"), full_page=True)
    french.close()
