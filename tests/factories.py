"""factory_boy factories shared by every test folder."""

from __future__ import annotations

import io
from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from listings.models import Category, Kind, Listing, Terms
from members.models import Member

PASSWORD = "correct-horse-battery-42"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    display_name = factory.Sequence(lambda n: f"Member {n}")
    neighbourhood = "Vieille Ville"

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )


def category(slug: str = "power-tools") -> Category:
    # Transactional tests flush the tree the data migration seeded; put it back.
    if not Category.objects.exists():
        from listings.categories import seed_categories

        seed_categories(Category)
    return Category.objects.get(slug=slug)


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    owner = factory.SubFactory(MemberFactory)
    kind = Kind.ITEM
    terms = Terms.LEND
    title = factory.Sequence(lambda n: f"Cordless drill {n}")
    description = "A sturdy drill with two batteries."
    category = factory.LazyFunction(lambda: category("power-tools"))
    condition = "good"
    price_cents = 0
    lat = 45.8992
    lng = 6.1294
    approx_lat = factory.LazyAttribute(lambda o: round(o.lat, 3) if o.lat is not None else None)
    approx_lng = factory.LazyAttribute(lambda o: round(o.lng, 3) if o.lng is not None else None)
    place_name = "Annecy (FR)"


class RideFactory(ListingFactory):
    kind = Kind.RIDE
    terms = Terms.SHARE
    title = factory.Sequence(lambda n: f"Annecy to Geneva {n}")
    category = factory.LazyFunction(lambda: category("carpool"))
    condition = ""
    price_cents = 500
    origin_name = "Annecy (FR)"
    origin_lat = 45.90
    origin_lng = 6.13
    destination_name = "Geneva (CH)"
    destination_lat = 46.20
    destination_lng = 6.14
    departs_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))
    seats = 3


class ServiceFactory(ListingFactory):
    kind = Kind.SERVICE
    terms = Terms.BARTER
    title = factory.Sequence(lambda n: f"Italian lessons {n}")
    category = factory.LazyFunction(lambda: category("languages"))
    condition = ""
    hours_minutes = 60
    service_place = "provider"
    duration_minutes = 60


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color=(200, 80, 40), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def image_upload(name: str = "photo.jpg", fmt: str = "JPEG", **kwargs) -> SimpleUploadedFile:
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(fmt, "application/octet-stream")
    return SimpleUploadedFile(name, image_bytes(fmt, **kwargs), content_type=content_type)
