"""Search that finds what people type (issue 17): the same table of queries and the
listings each must find, on SQLite (FTS5) and on PostgreSQL (tsvector + pg_trgm)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from listings.models import Category, Listing
from listings.selectors import search_text
from tests.factories import ListingFactory, ServiceFactory, category

pytestmark = pytest.mark.django_db

URL = reverse("listings:list")

# key -> (title, description, category slug). Categories: bikes = Bikes / Vélos (in
# Sports and outdoors / Sports et plein air); babysitting = Babysitting / Garde
# d’enfants; power-tools = Power tools / Outillage électrique (in Tools / Outils).
CATALOGUE = {
    "ebike": ("Vélo électrique", "Batterie neuve, 50 km d’autonomie.", "bikes"),
    "cargo": ("Cargo bike for the weekend", "Carries two children and the shopping.", "bikes"),
    "sitting": ("Baby-sitting le mercredi", "Étudiante, disponible l’après-midi.", "other"),
    "sitter": ("Babysitting evenings", "Experienced with toddlers.", "babysitting"),
    "perceuse": ("Perceuse à percussion", "Avec mèches pour le béton.", "power-tools"),
    "drill": ("Drill", "Cordless, with its case.", "power-tools"),
    "bag": ("Canvas bag", "Strong enough to hold a drill.", "other"),
    "ladder": ("Ladder", "Aluminium, three metres.", "ladders"),
}

QUERIES = [
    # accents, case and plurals, English and French
    ("vélo", {"ebike", "cargo"}),  # "Vélo" in a title, "Vélos" the category in French
    ("velo", {"ebike", "cargo"}),
    ("Vélos", {"ebike", "cargo"}),
    ("VELO", {"ebike", "cargo"}),
    ("bike", {"ebike", "cargo"}),  # "bike" in a title, "Bikes" the category in English
    ("bikes", {"ebike", "cargo"}),
    ("perceuses", {"perceuse"}),
    ("enfant", {"sitter"}),  # Garde d’enfants (its category, in French)
    # hyphens, spaces and nothing alike
    ("baby-sitting", {"sitting", "sitter"}),
    ("babysitting", {"sitting", "sitter"}),
    ("baby sitting", {"sitting", "sitter"}),
    # category names, in both languages, parents included
    ("outillage", {"perceuse", "drill"}),
    ("power tools", {"perceuse", "drill"}),
    ("outils", {"perceuse", "drill", "ladder"}),
    ("électrique", {"ebike", "perceuse", "drill"}),
    ("garde d’enfants", {"sitter"}),
    # the last word typed may be the beginning of one
    ("perc", {"perceuse"}),
    ("cargo wee", {"cargo"}),
    # one typo in a word
    ("perseuse", {"perceuse"}),
    ("ladedr", {"ladder"}),
    ("cargo bkie", {"cargo"}),
    # a known word is not a typo: "drill" does not also find "grill" or "drills"-alikes
    ("drill -bag", {"drill"}),
    ("canvas or ladder", {"bag", "ladder"}),
]


@pytest.fixture
def catalogue() -> dict[str, Listing]:
    now = timezone.now()
    return {
        key: ListingFactory(title=title, description=description, category=category(slug),
                            created_at=now - timedelta(hours=n))
        for n, (key, (title, description, slug)) in enumerate(CATALOGUE.items())
    }


def found(client, query: str, **params) -> list[int]:
    response = client.get(URL, {"q": query, **params})
    assert response.status_code == 200
    return [listing.pk for listing in response.context["page_obj"]]


@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_each_query_finds_what_it_should(client, catalogue, query, expected):
    assert set(found(client, query)) == {catalogue[key].pk for key in expected}


def test_a_title_match_ranks_before_a_description_match(client, catalogue):
    # The bag is newer and says "drill" in its description only.
    catalogue["bag"].created_at = timezone.now()
    catalogue["bag"].save()

    assert found(client, "drill") == [catalogue["drill"].pk, catalogue["bag"].pk]
    assert found(client, "drill", sort="newest") == [catalogue["bag"].pk, catalogue["drill"].pk]


def test_a_title_match_ranks_before_a_category_match(client, catalogue):
    assert found(client, "vélo") == [catalogue["ebike"].pk, catalogue["cargo"].pk]


def test_an_edit_is_searchable_at_once(client, catalogue):
    ladder = catalogue["ladder"]
    ladder.title = "Escabeau"
    ladder.category = category("garden-tools")
    ladder.save()

    assert found(client, "escabeaux") == [ladder.pk]
    assert found(client, "jardin") == [ladder.pk]  # Garden tools / Outils de jardin
    assert found(client, "ladder") == []


def test_bulk_created_listings_are_searchable(client):
    template = ListingFactory.build(owner=ServiceFactory().owner, category=category("bikes"))
    rows = []
    for n in range(3):
        row = Listing(**{f.attname: getattr(template, f.attname)
                         for f in Listing._meta.concrete_fields if not f.primary_key})
        row.title = f"Tandem {n}"
        rows.append(row)
    Listing.objects.bulk_create(rows)

    assert len(found(client, "tandems")) == 3
    assert len(found(client, "vélos tandem")) == 3


def test_a_category_renamed_reindexes_its_listings(client, catalogue):
    bikes = Category.objects.get(slug="bikes")
    bikes.search_words = "Bicyclettes"
    bikes.save()

    assert set(found(client, "bicyclette")) == {catalogue["cargo"].pk, catalogue["ebike"].pk}
    assert set(found(client, "vélos")) == {catalogue["ebike"].pk}  # its own title only


def test_a_deleted_listing_leaves_the_index(client, catalogue):
    catalogue["ladder"].delete()

    assert found(client, "ladder") == []


def test_saved_search_replay_uses_the_same_matching(client, catalogue):
    # The filter compiled inside an EXISTS subquery (saved searches) finds the same.
    from django.db.models import Exists, OuterRef

    inner = search_text(Listing.objects.filter(pk=OuterRef("pk")), "velos")
    matched = Listing.objects.filter(Exists(inner)).values_list("pk", flat=True)

    assert set(matched) == {catalogue["ebike"].pk, catalogue["cargo"].pk}


@pytest.mark.parametrize("query", ["", "ladedr", "cargo wee", "vélo -cargo or baby-sitting"])
def test_a_search_costs_the_queries_of_a_plain_page(client, catalogue, query):
    with CaptureQueriesContext(connection) as plain:
        client.get(URL)
    with CaptureQueriesContext(connection) as searched:
        client.get(URL, {"q": query})

    assert len(searched) == len(plain) == 4


def test_the_sqlite_search_reads_the_fts_index(is_postgres):
    if is_postgres:
        pytest.skip("FTS5 is SQLite's")
    queryset = search_text(Listing.objects.all(), "ladedr")
    with connection.cursor() as cursor:
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())

    assert "SCAN listing_fts VIRTUAL TABLE INDEX 0:M" in plan


def test_the_typo_lookup_on_postgres_uses_the_trigram_index(is_postgres, catalogue):
    if not is_postgres:
        pytest.skip("pg_trgm is PostgreSQL's")
    with connection.cursor() as cursor:
        # A catalogue's worth of words, so the planner's choice means something.
        cursor.execute("INSERT INTO listing_search_word SELECT md5(i::text) "
                       "FROM generate_series(1, 20000) AS i")
        # The words every earlier test indexed wait in the GIN index's pending list
        # (autovacuum merges it in production): a long one makes the planner price the
        # index above a full scan of the primary key, as seen once in CI.
        cursor.execute("SELECT gin_clean_pending_list('listing_search_word_trgm')")
        cursor.execute("ANALYZE listing_search_word")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT word FROM listing_search_word WHERE word %% %s",
                       ["ladedr"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT partage_search_typos('ladedr', false, '{}')::text")
        alternatives = cursor.fetchone()[0]

    assert "listing_search_word_trgm" in plan
    assert alternatives == "'ladder'"


def test_sqlite_search_comes_back_after_a_table_rebuild(client, catalogue, is_postgres):
    """SQLite drops a table's triggers when a migration rebuilds the table; the
    post-migrate check puts them back and re-indexes what changed meanwhile."""
    if is_postgres:
        pytest.skip("SQLite's triggers")
    from listings.search_schema import SQLITE_TRIGGERS, ensure_sqlite_search

    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    ladder = catalogue["ladder"]
    ladder.title = "Escabeau"
    ladder.save()  # unseen by the index: no trigger

    assert ensure_sqlite_search(connection) is True
    assert found(client, "escabeau") == [ladder.pk]
    assert ensure_sqlite_search(connection) is False  # nothing missing: nothing done
