from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import geo

# Text search lives in the database, outside the model state (migration 0009 and
# listings/search_schema.py): a trigger-kept tsvector column on PostgreSQL, an FTS5
# table on SQLite.


class Category(models.Model):
    """A node of the seeded category tree. Names are stored in English and translated
    on display (they are marked for translation in listings/categories.py)."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=80)
    icon = models.CharField(max_length=8, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # The names of the category and its parent in every language the site ships, which
    # search indexes with each listing of it (kept by seed_categories).
    search_words = models.CharField(max_length=500, blank=True, default="", editable=False)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return gettext(self.name)


class Kind(models.TextChoices):
    ITEM = "item", _("Tool or item")
    RIDE = "ride", _("Ride")
    SERVICE = "service", _("Service")
    WANTED = "wanted", _("Wanted")


# The picture of a listing without a photo when its category has none of its own. A ride
# always shows a car, whatever category it is filed under.
KIND_PICTURES: dict[str, str] = {
    Kind.ITEM: "📦", Kind.RIDE: "🚗", Kind.SERVICE: "🤝", Kind.WANTED: "🔎",
}


class Terms(models.TextChoices):
    LEND = "lend", _("Lend")
    GIVE = "give", _("Give away")
    SWAP = "swap", _("Swap")
    SELL = "sell", _("Sell")
    SHARE = "share", _("Cost share")
    BARTER = "barter", _("Barter (hours)")


# Which terms each kind may use. A wanted post's terms say how its author would like to
# get the thing: borrow it (lend), be given it, swap, buy it (sell) or trade hours.
TERMS_BY_KIND: dict[str, tuple[str, ...]] = {
    Kind.ITEM: (Terms.LEND, Terms.GIVE, Terms.SWAP, Terms.SELL),
    Kind.RIDE: (Terms.SHARE,),
    Kind.SERVICE: (Terms.BARTER, Terms.GIVE),
    Kind.WANTED: (Terms.LEND, Terms.GIVE, Terms.SWAP, Terms.SELL, Terms.BARTER),
}


# A wanted post's terms, in its author's words: they want to borrow it, not lend it.
WANTED_TERMS_LABELS = {
    Terms.LEND: _("To borrow"),
    Terms.GIVE: _("To be given"),
    Terms.SWAP: _("To swap"),
    Terms.SELL: _("To buy"),
    Terms.BARTER: _("For hours"),
}


class Condition(models.TextChoices):
    NEW = "new", _("New")
    LIKE_NEW = "like_new", _("Like new")
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    WORN = "worn", _("Worn but works")


class Status(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")
    REMOVED = "removed", _("Removed by a moderator")


class ServicePlace(models.TextChoices):
    PROVIDER = "provider", _("At my place")
    RECEIVER = "receiver", _("At yours")
    REMOTE = "remote", _("Remotely")


class ListingQuerySet(models.QuerySet):
    def active(self) -> ListingQuerySet:
        return self.filter(status=Status.ACTIVE)

    def visible_to_public(self) -> ListingQuerySet:
        """Active listings, without rides that have already left."""
        return self.active().exclude(kind=Kind.RIDE, departs_at__lt=timezone.now())

    def for_cards(self) -> ListingQuerySet:
        """Everything a listing card shows, in a fixed number of queries whatever the
        page size: owner and category joined, photos prefetched in one query."""
        return self.select_related("owner", "category").prefetch_related(card_photos())


def card_photos() -> Prefetch:
    """What a card needs of a listing's photos, in display order (for_cards, and the home
    page's sections, which fetch them once for all)."""
    return Prefetch("photos", queryset=Photo.objects.order_by("position", "id"))


class Listing(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listings"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    terms = models.CharField(_("terms"), max_length=16, choices=Terms.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=4000)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="listings", verbose_name=_("category")
    )
    condition = models.CharField(
        _("condition"), max_length=16, choices=Condition.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    # Set by moderation when it removes the listing (status REMOVED): its owner reads
    # why on the listing's page, which only they still see.
    removed_reason = models.TextField(_("reason for removal"), blank=True, max_length=2000,
                                      editable=False)

    # Money in integer cents: a sale price, a daily fee when lending, a price per seat
    # for a ride, or a budget for a wanted post. Hours in integer minutes.
    price_cents = models.PositiveIntegerField(_("price (cents)"), default=0)
    deposit_cents = models.PositiveIntegerField(_("deposit (cents)"), default=0)
    hours_minutes = models.PositiveIntegerField(_("hours asked (minutes)"), null=True, blank=True)

    # Where the thing is. Exact coordinates stay private; only the ~500 m approximation
    # is shown and searched on.
    place_name = models.CharField(_("place"), max_length=120, blank=True)
    lat = models.FloatField(null=True, blank=True, editable=False)
    lng = models.FloatField(null=True, blank=True, editable=False)
    approx_lat = models.FloatField(null=True, blank=True, editable=False)
    approx_lng = models.FloatField(null=True, blank=True, editable=False)

    # Rides. Origin and destination are stored already approximated: they are shown
    # publicly, and the exact meeting point is arranged in the conversation.
    origin_name = models.CharField(_("from"), max_length=120, blank=True)
    origin_lat = models.FloatField(null=True, blank=True)
    origin_lng = models.FloatField(null=True, blank=True)
    destination_name = models.CharField(_("to"), max_length=120, blank=True)
    destination_lat = models.FloatField(null=True, blank=True)
    destination_lng = models.FloatField(null=True, blank=True)
    departs_at = models.DateTimeField(_("departure"), null=True, blank=True, db_index=True)
    seats = models.PositiveSmallIntegerField(_("seats offered"), null=True, blank=True)
    # Seats held by accepted bookings, kept by the exchange services under the listing's
    # row lock (exchanges.services.seats_taken is the truth): cards show it at no cost.
    seats_booked = models.PositiveSmallIntegerField(default=0, editable=False)
    luggage_ok = models.BooleanField(_("room for luggage"), default=False)
    pets_ok = models.BooleanField(_("pets welcome"), default=False)
    smoking_ok = models.BooleanField(_("smoking allowed"), default=False)

    # Loans: days kept free after each return, for cleaning or repair.
    loan_buffer_days = models.PositiveSmallIntegerField(_("days kept free between loans"), default=0)

    # Services.
    service_place = models.CharField(
        _("where"), max_length=16, choices=ServicePlace.choices, blank=True
    )
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        indexes = [
            models.Index(fields=["status", "kind", "-created_at"], name="listing_browse_idx"),
            models.Index(fields=["approx_lat", "approx_lng"], name="listing_place_idx"),
            models.Index(fields=["status", "price_cents"], name="listing_price_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind=Kind.ITEM, terms__in=TERMS_BY_KIND[Kind.ITEM])
                    | Q(kind=Kind.RIDE, terms__in=TERMS_BY_KIND[Kind.RIDE])
                    | Q(kind=Kind.SERVICE, terms__in=TERMS_BY_KIND[Kind.SERVICE])
                    | Q(kind=Kind.WANTED, terms__in=TERMS_BY_KIND[Kind.WANTED])
                ),
                name="listing_terms_fit_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.RIDE)
                | (Q(departs_at__isnull=False) & Q(seats__gte=1) & Q(seats__lte=8)
                   & ~Q(origin_name="") & ~Q(destination_name="")),
                name="listing_ride_complete",
            ),
            models.CheckConstraint(
                condition=~Q(terms=Terms.BARTER) | Q(kind=Kind.WANTED) | Q(hours_minutes__gt=0),
                name="listing_barter_has_hours",
            ),
            models.CheckConstraint(
                condition=~Q(terms=Terms.SELL) | Q(kind=Kind.WANTED) | Q(price_cents__gt=0),
                name="listing_sale_has_price",
            ),
            models.CheckConstraint(
                condition=~Q(terms=Terms.GIVE) | Q(price_cents=0),
                name="listing_gift_is_free",
            ),
            models.CheckConstraint(
                condition=Q(price_cents__gte=0) & Q(deposit_cents__gte=0),
                name="listing_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(loan_buffer_days__lte=30), name="listing_buffer_at_most_30_days",
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True) | Q(approx_lat__isnull=False),
                name="listing_location_approximated",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("listings:detail", args=[self.pk])

    @property
    def picture(self) -> str:
        """The emoji that stands for this listing when it has no photo: a car for a ride,
        else its category's own picture (a service's is its trade, a wanted post's what
        is wanted), else its kind's. Reads the category row only (joined by for_cards)."""
        if self.kind == Kind.RIDE:
            return KIND_PICTURES[Kind.RIDE]
        return self.category.icon or KIND_PICTURES.get(self.kind, KIND_PICTURES[Kind.ITEM])

    @property
    def is_ride(self) -> bool:
        return self.kind == Kind.RIDE

    @property
    def is_service(self) -> bool:
        return self.kind == Kind.SERVICE

    @property
    def is_item(self) -> bool:
        return self.kind == Kind.ITEM

    @property
    def is_wanted(self) -> bool:
        return self.kind == Kind.WANTED

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE

    @property
    def terms_label(self) -> str:
        """How it is offered, or for a wanted post how its author would like to get it."""
        if self.kind == Kind.WANTED and self.terms in WANTED_TERMS_LABELS:
            return str(WANTED_TERMS_LABELS[self.terms])
        return self.get_terms_display()

    @property
    def seats_left(self) -> int:
        return max(0, (self.seats or 0) - self.seats_booked)

    @property
    def approx_point(self) -> geo.Point | None:
        if self.approx_lat is None or self.approx_lng is None:
            return None
        return geo.Point(self.approx_lat, self.approx_lng)

    @property
    def cover(self) -> Photo | None:
        # Uses the prefetched photos when present (for_cards), so a card costs no query.
        photos = list(self.photos.all())
        return photos[0] if photos else None


class Photo(models.Model):
    """A listing photo, stored re-encoded (no metadata) at display size and as a thumbnail."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="listings/%Y/%m/", width_field="width",
                              height_field="height")
    thumbnail = models.ImageField(upload_to="listings/%Y/%m/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    alt_text = models.CharField(_("description of the photo"), max_length=200, blank=True)
    # Bytes of both stored files, for the member's storage quota (MEMBER_STORAGE_QUOTA_BYTES).
    stored_bytes = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return f"{self.listing} #{self.position}"


# ---------------------------------------------------------------------------------------
# Saved searches (issue 6): "tell me when something like this is posted near me"
# ---------------------------------------------------------------------------------------


class SavedSearch(models.Model):
    """A member's search, kept as its normalised querystring (no page, no sort) so it is
    replayed through the very same ListingFilter as the browse page. A few criteria are
    copied into columns only to narrow, in SQL, which searches a new listing could match;
    the querystring stays the truth."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    name = models.CharField(_("name"), max_length=200)
    querystring = models.CharField(max_length=1000)
    notify_email = models.BooleanField(_("also tell me by a daily email"), default=False)
    # Narrowing columns (empty or null: any).
    kind = models.CharField(max_length=16, blank=True)
    terms = models.CharField(max_length=16, blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    price_min_cents = models.PositiveIntegerField(null=True, blank=True)
    price_max_cents = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("saved search")
        verbose_name_plural = _("saved searches")
        constraints = [
            models.UniqueConstraint(fields=["owner", "querystring"], name="saved_search_once"),
        ]
        indexes = [models.Index(fields=["kind", "terms"], name="saved_search_narrow_idx")]

    def __str__(self) -> str:
        return self.name

    def get_results_url(self) -> str:
        return f"{reverse('listings:list')}?{self.querystring}"


class SavedSearchMatch(models.Model):
    """A listing that matched a saved search when it became active: the live
    notification is sent at once; `emailed_at` is set when a daily digest included it."""

    saved_search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="matches")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["saved_search", "listing"],
                                    name="saved_search_match_once"),
        ]
        indexes = [models.Index(fields=["emailed_at"], name="saved_match_unemailed_idx")]

    def __str__(self) -> str:
        return f"{self.saved_search_id} → {self.listing_id}"
