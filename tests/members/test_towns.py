"""/members/towns/?q=…: <option> elements for the town datalist."""

import re

from django.urls import reverse

URL = reverse("members:towns")


def _options(response) -> list[str]:
    return re.findall(r'<option value="([^"]*)"></option>', response.content.decode())


def test_it_suggests_towns_by_prefix(client, db):
    response = client.get(URL, {"q": "anne"})
    assert response.status_code == 200
    assert "Annecy (FR)" in _options(response)
    assert response.content.decode().strip().startswith("<option")


def test_it_ignores_accents_and_case(client, db):
    assert "Chambéry (FR)" in _options(client.get(URL, {"q": "CHAMBERY"}))


def test_it_takes_the_town_field_as_htmx_sends_it(client, db):
    assert "Annecy (FR)" in _options(client.get(URL, {"town": "annec"}))


def test_it_returns_at_most_eight_towns(client, db):
    assert len(_options(client.get(URL, {"q": "sa"}))) == 8


def test_it_returns_nothing_for_one_letter_or_nothing(client, db):
    assert _options(client.get(URL, {"q": "a"})) == []
    assert _options(client.get(URL)) == []


def test_it_bounds_a_very_long_query(client, db):
    response = client.get(URL, {"q": "x" * 5000})
    assert response.status_code == 200
    assert _options(response) == []


def test_it_escapes_the_output(client, db):
    response = client.get(URL, {"q": '"><script>'})
    assert b"<script>" not in response.content


def test_it_may_be_cached(client, db):
    response = client.get(URL, {"q": "ann"})
    assert "max-age=3600" in response["Cache-Control"]


def test_it_refuses_posts(client, db):
    assert client.post(URL, {"q": "ann"}).status_code == 405
