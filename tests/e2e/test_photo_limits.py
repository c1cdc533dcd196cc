"""A photo too large for a phone's needs, on a phone: the page says the limit and what
to do, in English and in French, and the layout holds at 360 px."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.core.test_images import encode
from tests.factories import ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_photo_over_24_megapixels_is_refused_with_the_limit_in_both_languages(
    page, live_server, screenshot, tmp_path
):
    from PIL import Image

    member = MemberFactory(display_name="Camille R.")
    listing = ListingFactory(owner=member, title="Ryobi hedge trimmer")
    client = Client()
    client.force_login(member)
    page.set_viewport_size({"width": 360, "height": 740})
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    photo = tmp_path / "IMG_2041.png"
    photo.write_bytes(encode(Image.new("L", (6324, 6324), 255), "PNG"))

    for language, message in [
        ("en", "This photo is 40 megapixels; photos up to 24 megapixels are accepted: "
         "resize it and try again."),
        ("fr", "Cette photo fait 40 mégapixels\u00a0; les photos jusqu’à 24 mégapixels sont "
         "acceptées\u00a0: réduisez-la et réessayez."),
    ]:
        page.context.add_cookies([{"name": "django_language", "value": language,
                                   "url": live_server.url}])
        page.goto(f"{live_server.url}/listings/{listing.pk}/photos/")
        page.get_by_label("Photo", exact=True).set_input_files(str(photo))
        page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
        expect(page.get_by_text(message)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(f"photo-over-the-pixel-cap-{language}")
    assert not listing.photos.exists()
