import math

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
