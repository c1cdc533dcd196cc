"""What a listing without a photo shows on its card: a car for a ride, else its
category's own picture, else its kind's; and the demo's drawings, which print the
accented letters of French titles and show their category."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from PIL import Image, ImageChops

from listings import demo
from listings.categories import CATEGORY_TREE
from listings.models import Category, Kind, Terms
from tests.factories import ListingFactory, RideFactory, ServiceFactory, category

pytestmark = pytest.mark.django_db


def card_picture(html: str, listing) -> str:
    card = re.search(rf'<article class="card" id="listing-{listing.pk}">(.*?)</article>', html, re.S)
    assert card, f"no card for {listing}"
    return re.search(r'<span class="card-picture" aria-hidden="true">(.*?)</span>', card.group(1)).group(1)


def test_every_category_of_the_tree_has_its_own_picture():
    category()  # the seeded tree
    slugs = [slug for slug, *_ in CATEGORY_TREE]
    slugs += [child for *_, children in CATEGORY_TREE for child, _name in children]
    categories = Category.objects.filter(slug__in=slugs)
    assert categories.count() == len(slugs)
    assert not categories.filter(icon="").exists()
    # Subcategories do not all borrow one picture from their parent.
    assert categories.filter(slug="ladders").get().icon != categories.get(slug="power-tools").icon


def test_cards_without_a_photo_show_their_kind_and_category(client):
    ladder = ListingFactory(title="Roof ladder", category=category("ladders"))
    ride = RideFactory(title="Annecy to Lyon", category=category("other"))
    lesson = ServiceFactory(title="Spanish conversation", category=category("languages"))
    bike = ListingFactory(kind=Kind.WANTED, terms=Terms.LEND, title="A child's bike",
                          category=category("bikes"))
    html = client.get(reverse("listings:list")).content.decode()
    assert card_picture(html, ladder) == "🪜"
    # A ride is a car whatever it was filed under (here "Other", whose picture is a box).
    assert card_picture(html, ride) == "🚗"
    assert card_picture(html, lesson) == "🗣️"
    assert card_picture(html, bike) == "🚲"


def test_a_category_without_a_picture_falls_back_to_the_kinds(client):
    bare = Category.objects.create(slug="bare", name="Bare", icon="")
    item = ListingFactory(title="Mystery object", category=bare)
    service = ServiceFactory(title="Mystery help", category=bare)
    html = client.get(reverse("listings:list")).content.decode()
    assert card_picture(html, item) == "📦"
    assert card_picture(html, service) == "🤝"


def _ink(text: str) -> Image.Image:
    font = demo._font(40)
    image = Image.new("L", (80, 80), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(image).text((10, 10), text, font=font, fill=255)
    return image


@pytest.mark.parametrize("letter", list("éèêëàâçôûùïîœÉÀÇ"))
def test_the_demo_drawings_print_french_accented_letters(letter):
    # A letter the font lacks is drawn as the same empty box as any unknown character.
    missing = _ink("\ue000")
    assert ImageChops.difference(_ink(letter), missing).getbbox() is not None


def test_the_demo_drawings_match_their_category():
    def drawing(top: str, sub: str = "") -> bytes:
        with Image.open(io.BytesIO(demo.draw_listing_photo("Vélo", top, 0, sub))) as image:
            return image.convert("L").resize((80, 60)).tobytes()

    # Rides, lessons and care no longer share the pictures of bikes, books and kids.
    assert demo.PALETTE["rides"][1] == "car"
    assert len({demo.PALETTE[top][1] for top in ("rides", "sports", "lessons", "books",
                                                 "care", "kids")}) == 6
    assert drawing("sports", "bikes") != drawing("sports", "camping")
    assert drawing("tools", "ladders") != drawing("tools", "power-tools")
