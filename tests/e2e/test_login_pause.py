"""Five wrong passwords on a phone: the login page says what happened and what to do,
in English and in French, and fits a 360 px screen."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("language, locale, expected, forgot", [
    ("en", "en-GB", "Wait 5 minutes and try again", "Forgot your password?"),
    ("fr", "fr-FR", "Attendez 5\u00a0minutes et réessayez", "Mot de passe oublié ?"),
])
def test_the_paused_login_says_what_to_do(browser, live_server, output_path, language, locale,
                                          expected, forgot):
    member = MemberFactory(email="alice@example.com")
    context = browser.new_context(**PHONE, locale=locale)
    page = context.new_page()
    for password in ["wrong-1", "wrong-2", "wrong-3", "wrong-4", "wrong-5", PASSWORD]:
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("input[name=login]").fill(member.email)
        page.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            page.locator("input[name=password]").press("Enter")
    page.screenshot(path=f"{output_path}/login-paused-{language}.png", full_page=True)
    assert expected in page.locator("body").inner_text()
    assert page.get_by_role("link", name=forgot).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert "/accounts/login/" in page.url  # not signed in
    context.close()
