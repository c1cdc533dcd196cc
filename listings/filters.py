"""The listing search form and its querystring (django-filter).

Policy for bad input: a filter whose value does not validate (a bad price, an unknown
town, a bad date, a radius not offered...) gets a field error and is ignored; every
other filter still applies. So a shared link with one typo still shows something useful,
and says what it could not use.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core import geo
from listings import selectors
from listings.models import Category, Kind, Terms
from listings.widgets import QuickDateInput, QuickSelect, QuickTextInput

RADIUS_CHOICES_KM = (1, 2, 5, 10, 25, 50)
DEFAULT_RADIUS_KM = 10
# The word that means "around the location I shared" in the `near` box.
NEAR_ME = "me"
NEAR_ME_TRANSLATED = pgettext_lazy("the 'near' search box: around my location", "me")


class Sort:
    NEWEST = "newest"
    RELEVANCE = "relevance"
    NEAREST = "nearest"
    PRICE = "price"

    CHOICES = (
        (NEWEST, _("Newest first")),
        (RELEVANCE, _("Best match")),
        (NEAREST, _("Nearest first")),
        (PRICE, _("Lowest price first")),
    )


KIND_TABS = (
    (Kind.ITEM, _("Tools and items")),
    (Kind.RIDE, _("Rides")),
    (Kind.SERVICE, _("Services")),
    (Kind.WANTED, _("Wanted")),
)

# The filters a visitor sets (for the "n active" count and "Clear filters").
USER_FILTERS = (
    "q", "kind", "terms", "category", "price_min", "price_max",
    "near", "origin_near", "destination_near", "date", "min_rating",
)

# Minimum owner ratings offered (the average of their public reviews, reviews app).
MIN_RATING_CHOICES = (
    ("3", _("3 stars and up")),
    ("4", _("4 stars and up")),
    ("4.5", _("4.5 stars and up")),
)


@dataclass(frozen=True)
class Broader:
    """A broader search to offer when nothing matched: what changes, and the link."""

    label: str
    querystring: str


@dataclass(frozen=True)
class Place:
    """A resolved `near` value: what to show, and where it is."""

    label: str
    point: geo.Point


class EuroField(forms.DecimalField):
    """An amount typed in euros ("12.50", "12,50" or "12.50 €"), cleaned to integer cents."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_value", Decimal(1_000_000))
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("widget", QuickTextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)
        self.error_messages["invalid"] = _("Enter an amount in euros, for example 12.50.")
        self.error_messages["min_value"] = _("Enter an amount of zero or more.")

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, str):
            value = value.replace("€", "").replace(",", ".").strip()
        return super().to_python(value)

    def clean(self, value: Any) -> int | None:
        euros = super().clean(value)
        if euros is None:
            return None
        return int((euros * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class EuroFilter(django_filters.Filter):
    field_class = EuroField


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        # Children are indented under their parent (a select cannot nest options).
        indent = "\u2003" if obj.parent_id else ""
        return f"{indent}{obj.label}"


class CategoryFilter(django_filters.ModelChoiceFilter):
    field_class = CategoryChoiceField


class ListingFilterForm(forms.Form):
    """Validation that spans fields or needs the visitor (set as `member` by the filter)."""

    member: Any = None

    def _resolve_town(self, name: str) -> Place | None:
        value = (self.cleaned_data.get(name) or "").strip()
        if not value:
            return None
        town = geo.find_town(value)
        if town is None:
            raise ValidationError(
                _("We do not know the town “%(town)s”. Check the spelling, try a larger "
                  "town nearby, or add the country code, e.g. Annecy (FR)."),
                code="unknown_town",
                params={"town": value},
            )
        return Place(label=town.label, point=town.point)

    def clean_near(self) -> Place | None:
        value = (self.cleaned_data.get("near") or "").strip()
        if value.lower() not in {NEAR_ME, str(NEAR_ME_TRANSLATED).lower()}:
            return self._resolve_town("near")
        member = self.member
        if member is None or not member.is_authenticated:
            raise ValidationError(
                _("Log in and share your location to search near you, or type a town."),
                code="near_me_anonymous",
            )
        if not member.location_consent or member.approx_point is None:
            raise ValidationError(
                _("You have not shared your location. Share it in your profile "
                  "(My location), or type a town."),
                code="near_me_no_consent",
            )
        # Only the member's ~500 m approximation is ever used, never the exact home.
        return Place(label=gettext("your area"), point=member.approx_point)

    def clean_origin_near(self) -> Place | None:
        return self._resolve_town("origin_near")

    def clean_destination_near(self) -> Place | None:
        return self._resolve_town("destination_near")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        low, high = cleaned.get("price_min"), cleaned.get("price_max")
        if low is not None and high is not None and low > high:
            self.add_error("price_max", _("The maximum price is below the minimum."))
        return cleaned


class ListingFilter(django_filters.FilterSet):
    """Search and filters of the browse page. Bind it to request.GET and the public
    queryset; `qs` is filtered and ordered, `notices` says what was adjusted and
    `summary` describes the places searched around."""

    q = django_filters.CharFilter(
        label=_("Search"), method="filter_text", max_length=200,
        widget=QuickTextInput(attrs={"type": "search", "autocomplete": "off",
                                      # Names of categories the demo fills, in the
                                      # member's language: each finds something
                                      # (tests/listings/test_search_page_empty.py).
                                      "placeholder": _("bike, ladder, babysitting…")}),
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Kind.choices, empty_label=_("All kinds"), widget=QuickSelect,
    )
    terms = django_filters.ChoiceFilter(
        label=_("Terms"), choices=Terms.choices, empty_label=_("Any terms"), widget=QuickSelect,
    )
    category = CategoryFilter(
        label=_("Category"), queryset=selectors.category_choices_queryset(),
        to_field_name="slug", method="filter_category", empty_label=_("All categories"),
        widget=QuickSelect,
    )
    price_min = EuroFilter(
        label=_("Price from (€)"), field_name="price_cents", lookup_expr="gte",
    )
    price_max = EuroFilter(
        label=_("Price up to (€)"), field_name="price_cents", lookup_expr="lte",
    )
    near = django_filters.CharFilter(
        label=_("Near"), method="filter_near", max_length=120,
        help_text=_("A town, or “me” for the location you shared."),
        widget=QuickTextInput(attrs={"autocomplete": "off", "placeholder": _("Annecy")}),
    )
    radius = django_filters.TypedChoiceFilter(
        label=_("Within"), coerce=int,
        choices=[(str(km), f"{km} km") for km in RADIUS_CHOICES_KM], widget=QuickSelect,
    )
    origin_near = django_filters.CharFilter(
        label=_("Ride leaving from"), method="filter_origin", max_length=120,
        widget=QuickTextInput(attrs={"autocomplete": "off"}),
    )
    destination_near = django_filters.CharFilter(
        label=_("Ride going to"), method="filter_destination", max_length=120,
        widget=QuickTextInput(attrs={"autocomplete": "off"}),
    )
    date = django_filters.DateFilter(
        label=_("Departure date"), field_name="departs_at", lookup_expr="date",
        widget=QuickDateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    min_rating = django_filters.ChoiceFilter(
        label=_("Owner's rating"), choices=MIN_RATING_CHOICES,
        empty_label=_("Any rating"), method="filter_min_rating", widget=QuickSelect,
    )
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=Sort.CHOICES, empty_label=None, widget=QuickSelect,
    )

    # Not filters themselves: read by the filters and the ordering below.
    PARAMETERS = ("radius", "sort")

    class Meta:
        form = ListingFilterForm

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None) -> None:
        self.raw = data if data is not None else {}
        if data is not None:
            # Defaults go into the bound data so the form shows what is applied.
            data = data.copy()
            if not data.get("radius"):
                data["radius"] = str(DEFAULT_RADIUS_KM)
            if not data.get("sort"):
                data["sort"] = Sort.RELEVANCE if (data.get("q") or "").strip() else Sort.NEWEST
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.form.member = getattr(request, "user", None)
        self.notices: list[str] = []
        self.summary: list[str] = []
        self._distance_fields: list[str] = []

    # -- what the visitor asked for -----------------------------------------------------

    @property
    def active_count(self) -> int:
        return sum(1 for name in USER_FILTERS if (self.raw.get(name) or "").strip())

    @property
    def radius_km(self) -> int:
        return self.form.cleaned_data.get("radius") or DEFAULT_RADIUS_KM

    @property
    def sort_order(self) -> str:
        return self.form.cleaned_data.get("sort") or Sort.NEWEST

    @property
    def current_kind(self) -> str:
        return self.form.cleaned_data.get("kind") or ""

    def broader_searches(self) -> list[Broader]:
        """Searches that find more than this one, one change each: drop a filter, widen
        the radius, or accept any of the words. Built from what was applied (a filter
        ignored as invalid is not offered again); no query is run."""
        cleaned = self.form.cleaned_data
        applied = {name for name in USER_FILTERS
                   if (self.raw.get(name) or "").strip() and cleaned.get(name) not in (None, "")}
        offers: list[Broader] = []

        def offer(label: str, **changes: str | None) -> None:
            params = self.raw.copy()
            params.pop("page", None)
            for key, value in changes.items():
                if value is None:
                    params.pop(key, None)
                else:
                    params[key] = value
            offers.append(Broader(label=label, querystring=params.urlencode()))

        words = cleaned.get("q") or ""
        plain = words.split()
        if len(plain) > 1 and all(w.lower() != "or" and not w.startswith(("-", '"'))
                                  for w in plain):
            offer(gettext("Any of the words: %(words)s")
                  % {"words": " · ".join(plain)}, q=" or ".join(plain))
        # With one other filter, dropping it is offered below in its own words.
        if "q" in applied and len(applied) > 2:
            offer(gettext("Only “%(words)s”, without the other filters") % {"words": words},
                  **dict.fromkeys(applied - {"q"}), radius=None)
        if "kind" in applied:
            offer(gettext("All kinds, not only “%(kind)s”") % {"kind": Kind(cleaned["kind"]).label},
                  kind=None, terms=None)
        if "terms" in applied:
            offer(gettext("Any terms, not only “%(terms)s”")
                  % {"terms": Terms(cleaned["terms"]).label}, terms=None)
        if "category" in applied:
            category = cleaned["category"]
            if category.parent_id:
                offer(gettext("All of “%(parent)s”") % {"parent": category.parent.label},
                      category=category.parent.slug)
            offer(gettext("All categories, not only “%(category)s”")
                  % {"category": category.label}, category=None)
        if applied & {"price_min", "price_max"}:
            offer(gettext("Any price"), price_min=None, price_max=None)
        places = [name for name in ("near", "origin_near", "destination_near") if name in applied]
        wider = [km for km in RADIUS_CHOICES_KM if km > self.radius_km]
        if places and wider:
            offer(gettext("Within %(km)s km instead of %(current)s km")
                  % {"km": wider[0], "current": self.radius_km}, radius=str(wider[0]))
        for name, label in (("near", gettext("Anywhere")),
                            ("origin_near", gettext("Leaving from anywhere")),
                            ("destination_near", gettext("Going anywhere")),
                            ("date", gettext("Any departure date")),
                            ("min_rating", gettext("Any owner's rating"))):
            if name in applied:
                offer(label, **{name: None})
        return offers

    # -- filters --------------------------------------------------------------------------

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Invalid fields are absent from cleaned_data: they are ignored (module docstring).
        for name, value in self.form.cleaned_data.items():
            if name not in self.PARAMETERS:
                queryset = self.filters[name].filter(queryset, value)
        # Cards show the owner's rating: joined here, never a query per listing.
        return self._order(selectors.with_owner_rating(queryset))

    def filter_min_rating(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Members without reviews have no average: a minimum leaves them out.
        return queryset.filter(owner__reputation__average__gte=Decimal(value))

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.search_text(queryset, value, rank=self.sort_order == Sort.RELEVANCE)

    def filter_category(self, queryset: QuerySet, name: str, value: Category) -> QuerySet:
        # A parent category includes its children (the tree has two levels).
        return queryset.filter(Q(category=value) | Q(category__parent=value))

    def _within(self, queryset: QuerySet, place: Place, *, prefix: str, annotate_as: str,
                description: str) -> QuerySet:
        self._distance_fields.append(annotate_as)
        self.summary.append(description % {"km": self.radius_km, "place": place.label})
        return selectors.within_distance(
            queryset, centre=place.point, radius_km=self.radius_km,
            lat_field=f"{prefix}_lat", lng_field=f"{prefix}_lng", annotate_as=annotate_as,
        )

    def filter_near(self, queryset: QuerySet, name: str, place: Place) -> QuerySet:
        return self._within(queryset, place, prefix="approx", annotate_as="distance_km",
                            description=gettext("within %(km)s km of %(place)s"))

    def filter_origin(self, queryset: QuerySet, name: str, place: Place) -> QuerySet:
        return self._within(queryset, place, prefix="origin", annotate_as="origin_km",
                            description=gettext("leaving within %(km)s km of %(place)s"))

    def filter_destination(self, queryset: QuerySet, name: str, place: Place) -> QuerySet:
        return self._within(
            queryset, place, prefix="destination", annotate_as="destination_km",
            description=gettext("going within %(km)s km of %(place)s"),
        )

    # -- ordering -------------------------------------------------------------------------

    def _order(self, queryset: QuerySet) -> QuerySet:
        sort = self.sort_order
        if sort == Sort.RELEVANCE:
            if self.form.cleaned_data.get("q"):
                return queryset.order_by("-rank", "-created_at", "-id")
            self.notices.append(gettext("Best match needs search words: newest first."))
        elif sort == Sort.NEAREST:
            if self._distance_fields:
                return queryset.order_by(self._distance_fields[0], "-created_at", "-id")
            self.notices.append(
                gettext("Sorting by distance needs a place (Near, or a ride's start or "
                        "end): newest first.")
            )
        elif sort == Sort.PRICE:
            return queryset.order_by("price_cents", "-created_at", "-id")
        return queryset.order_by("-created_at", "-id")
