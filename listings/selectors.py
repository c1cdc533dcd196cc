"""Reads the browse pages share: text search, distance, and the home page sections.

Each function takes and returns a queryset (or plain data) and never writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import connections
from django.db.models import (
    ExpressionWrapper,
    F,
    FloatField,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Sqrt
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core import geo
from listings import search_query
from listings.models import Category, Kind, Listing, card_photos

# ---------------------------------------------------------------------------------------
# Text search
# ---------------------------------------------------------------------------------------

def search_text(queryset: QuerySet[Listing], text: str, *, rank: bool = False) -> QuerySet:
    """Listings matching `text` as listings/search_query.py reads it: every word (or
    an alternative after `or`) in the title, the category's names in English or French,
    or the description, whatever the case, accents, plural or a typo.

    One statement whatever the database: on PostgreSQL a filter on the GIN-indexed
    `search_vector` column, its tsquery computed once; on SQLite an FTS5 MATCH. With
    `rank=True` a `rank` annotation (higher is better) puts listings whose title
    matches first."""
    text = (text or "").strip()
    if not text:
        return queryset
    clauses = search_query.parse(text)
    # Only operators and no word: nothing to match on (as websearch_to_tsquery does).
    if not clauses:
        queryset = queryset.none()
        return queryset.annotate(rank=Value(0.0, output_field=FloatField())) if rank else queryset
    match, score = search_query.match_and_rank(clauses, connections[queryset.db].vendor)
    queryset = queryset.filter(match)
    if rank:
        queryset = queryset.annotate(rank=score)
    return queryset


# ---------------------------------------------------------------------------------------
# Distance
# ---------------------------------------------------------------------------------------


def within_distance(
    queryset: QuerySet[Listing],
    *,
    centre: geo.Point,
    radius_km: float,
    lat_field: str = "approx_lat",
    lng_field: str = "approx_lng",
    annotate_as: str = "distance_km",
) -> QuerySet:
    """Listings whose point (by default the public ~500 m approximation, never the
    exact one) lies within `radius_km` of `centre`, annotated with that distance in km.

    A bounding box comes first, so the (lat, lng) index narrows the rows; then an
    equirectangular distance in plain SQL arithmetic, which SQLite and PostgreSQL both
    compute without trigonometry: cos(latitude) of the centre is a Python constant.
    Within 50 km its error is far below the 500 m blur of the points themselves.
    Boxes crossing the antimeridian are not handled (no neighbourhood spans it).
    """
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(centre, radius_km)
    km_per_degree_lng = geo.KM_PER_DEGREE_LAT * max(math.cos(math.radians(centre.lat)), 0.01)
    dx = (F(lng_field) - Value(centre.lng)) * Value(km_per_degree_lng)
    dy = (F(lat_field) - Value(centre.lat)) * Value(geo.KM_PER_DEGREE_LAT)
    squared_name = f"{annotate_as}_squared"
    return (
        queryset.filter(**{
            f"{lat_field}__gte": min_lat, f"{lat_field}__lte": max_lat,
            f"{lng_field}__gte": min_lng, f"{lng_field}__lte": max_lng,
        })
        .alias(**{squared_name: ExpressionWrapper(dx * dx + dy * dy, output_field=FloatField())})
        # Compare squares: the circle test needs no square root.
        .filter(**{f"{squared_name}__lte": float(radius_km) ** 2})
        .annotate(**{annotate_as: Sqrt(F(squared_name), output_field=FloatField())})
    )


# ---------------------------------------------------------------------------------------
# Owner ratings
# ---------------------------------------------------------------------------------------


def with_owner_rating(queryset: QuerySet[Listing]) -> QuerySet[Listing]:
    """Join each owner's reputation (reviews app) so cards show the rating without a
    query per listing: one LEFT JOIN on the member's primary key."""
    return queryset.select_related("owner__reputation")


# ---------------------------------------------------------------------------------------
# Home page
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeSection:
    key: str
    title: str
    listings: list[Listing]
    more_url: str
    empty_hint: str


def _browse_url(**params: str) -> str:
    return f"{reverse('listings:list')}?{urlencode(params)}" if params else reverse("listings:list")


def home_sections(*, size: int = 4) -> list[HomeSection]:
    """A handful of public cards per kind: one query per section whatever `size`
    (listings with owner and category joined), then one for the photos of them all."""
    # The photos are fetched once for every section below, not once per section: each
    # query is a round trip and an ORM compilation, which is what the home page cost.
    public = with_owner_rating(Listing.objects.visible_to_public().for_cards()
                               .prefetch_related(None))
    specs = [
        ("items", _("Newest tools and items"), public.filter(kind=Kind.ITEM),
         _browse_url(kind=Kind.ITEM), _("No tools or items yet: lend yours first.")),
        ("rides", _("Upcoming rides"),
         public.filter(kind=Kind.RIDE).order_by("departs_at", "id"),
         _browse_url(kind=Kind.RIDE), _("No rides planned yet.")),
        ("services", _("Services"), public.filter(kind=Kind.SERVICE),
         _browse_url(kind=Kind.SERVICE), _("No services offered yet.")),
        ("wanted", _("Wanted by neighbours"), public.filter(kind=Kind.WANTED),
         _browse_url(kind=Kind.WANTED), _("Nobody is looking for anything yet.")),
    ]
    sections = [
        HomeSection(key=key, title=str(title), listings=list(queryset[:size]),
                    more_url=url, empty_hint=str(hint))
        for key, title, queryset, url, hint in specs
    ]
    prefetch_related_objects([listing for section in sections for listing in section.listings],
                             card_photos())
    return sections


def top_categories() -> list[Category]:
    """The first level of the category tree, for shortcuts (one query)."""
    return list(Category.objects.filter(parent__isnull=True).order_by("position", "name"))


def category_choices_queryset() -> QuerySet[Category]:
    """Every category, each parent followed by its children (for a select)."""
    return Category.objects.select_related("parent").order_by(
        # A child sorts with its parent's group; the parent comes first in its group.
        Coalesce("parent__position", "position"),
        Coalesce("parent_id", "id"),
        F("parent_id").asc(nulls_first=True),
        "position",
        "name",
    )
