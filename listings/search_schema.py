"""The database side of listing search: what migration 0009 installs, per database.

PostgreSQL
    Three text search configurations built on `unaccent` (partage_simple, partage_en,
    partage_fr). A `search_vector` column on the listing table, outside Django's model
    state, kept by triggers from the title (weight A), the
    category's names in every language (B, `Category.search_words`) and the
    description (D), each in the three configurations. One GIN index on it serves
    every search. `listing_search_word` holds every lexeme ever indexed, with a trigram index
    (pg_trgm): a query word found nowhere is looked up there for words one typo away.

SQLite
    An FTS5 table `listing_fts` (title, category, body), rowid = listing id, kept by
    triggers that call `partage_search_document()`, a Python function registered on
    every connection (listings/search_text.py builds the layers: FTS5 has no French
    stemmer). `listing_fts_vocab` lists its terms, for the typo lookup.

Triggers are database rules: bulk_create, COPY (seed_bulk) and queryset updates keep
the index right as well as save() does. SQLite drops a table's triggers when Django
rebuilds the table in a later migration; `ensure_sqlite_search()` runs after every
migrate and puts back what is missing (rebuilding the index if it had to).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from listings import search_text

LISTING = "listings_listing"
CATEGORY = "listings_category"

# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------

POSTGRES_INSTALL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Each configuration reads words through unaccent, then its own dictionary.
    "CREATE TEXT SEARCH CONFIGURATION partage_simple (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION partage_simple ALTER MAPPING FOR"
    " asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, simple",
    "CREATE TEXT SEARCH CONFIGURATION partage_en (COPY = english)",
    "ALTER TEXT SEARCH CONFIGURATION partage_en ALTER MAPPING FOR"
    " word, hword, hword_part WITH unaccent, english_stem",
    "CREATE TEXT SEARCH CONFIGURATION partage_fr (COPY = french)",
    "ALTER TEXT SEARCH CONFIGURATION partage_fr ALTER MAPPING FOR"
    " word, hword, hword_part WITH unaccent, french_stem",
    # "baby-sitting" -> "babysitting": hyphenated words also indexed as one word.
    r"""
    CREATE FUNCTION partage_search_compounds(body text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(string_agg(replace(m[1], '-', ''), ' '), '')
      FROM regexp_matches(body, '([[:alnum:]]+(?:-[[:alnum:]]+)+)', 'g') AS m
    $$
    """,
    """
    CREATE FUNCTION partage_search_layers(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT to_tsvector('partage_simple', t) || to_tsvector('partage_en', t)
             || to_tsvector('partage_fr', t)
      FROM (SELECT coalesce(body, '') || ' ' || partage_search_compounds(coalesce(body, ''))
            AS t) AS s
    $$
    """,
    """
    CREATE FUNCTION partage_search_vector(title text, category text, body text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT setweight(partage_search_layers(title), 'A')
             || setweight(partage_search_layers(category), 'B')
             || setweight(partage_search_layers(body), 'D')
    $$
    """,
    # The vector is a column of the listing table, outside Django's model state (card
    # queries never fetch it), so a search reads one heap row per match. A table of its
    # own was tried: two more index probes per match made category-wide searches
    # ("bike": every listing in Bikes) three to four times slower. The price: ~700 bytes
    # a row inline (TOAST only moves values out of rows above ~2 kB), docs/performance.md.
    f"ALTER TABLE {LISTING} ADD COLUMN search_vector tsvector",
    f"""
    CREATE FUNCTION listing_search_vector_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.search_vector := partage_search_vector(
        NEW.title, (SELECT search_words FROM {CATEGORY} WHERE id = NEW.category_id),
        NEW.description);
      RETURN NEW;
    END $$
    """,
    f"""
    CREATE TRIGGER listing_search_vector_insert BEFORE INSERT ON {LISTING}
    FOR EACH ROW EXECUTE FUNCTION listing_search_vector_update()
    """,
    # save() writes every column: only a real change of what is indexed re-indexes.
    f"""
    CREATE TRIGGER listing_search_vector_update BEFORE UPDATE ON {LISTING} FOR EACH ROW
    WHEN ((OLD.title, OLD.description, OLD.category_id, OLD.search_vector)
          IS DISTINCT FROM (NEW.title, NEW.description, NEW.category_id, NEW.search_vector)
          OR NEW.search_vector IS NULL)
    EXECUTE FUNCTION listing_search_vector_update()
    """,
    # A category renamed (or its translations changed): its listings are indexed again
    # (the vector set to NULL fires the update trigger above).
    f"""
    CREATE FUNCTION category_search_words_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE {LISTING} SET search_vector = NULL WHERE category_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER category_search_words AFTER UPDATE OF search_words ON {CATEGORY}
    FOR EACH ROW WHEN (OLD.search_words IS DISTINCT FROM NEW.search_words)
    EXECUTE FUNCTION category_search_words_update()
    """,
    # Every lexeme indexed, for the typo lookup. Words are never removed (a stale one
    # only offers an alternative that matches nothing). Inserted in sorted order so two
    # transactions adding the same words wait for each other instead of deadlocking.
    'CREATE TABLE listing_search_word (word text COLLATE "C" PRIMARY KEY)',
    "CREATE INDEX listing_search_word_trgm ON listing_search_word USING gin (word gin_trgm_ops)",
    """
    CREATE FUNCTION listing_search_words_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO listing_search_word (word)
      SELECT DISTINCT w FROM new_rows, unnest(tsvector_to_array(search_vector)) AS w
      ORDER BY w ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION listing_search_words_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO listing_search_word (word)
      SELECT DISTINCT w FROM new_rows JOIN old_rows USING (id),
             unnest(tsvector_to_array(new_rows.search_vector)) AS w
      WHERE new_rows.search_vector IS DISTINCT FROM old_rows.search_vector
      ORDER BY w ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER listing_search_words_inserted AFTER INSERT ON {LISTING}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION listing_search_words_inserted()
    """,
    f"""
    CREATE TRIGGER listing_search_words_updated AFTER UPDATE ON {LISTING}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION listing_search_words_updated()
    """,
    # At most one typo: one letter replaced, added, removed, or two neighbours swapped.
    """
    CREATE FUNCTION partage_one_edit(a text, b text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    DECLARE
      la int := length(a); lb int := length(b); i int := 1;
    BEGIN
      IF abs(la - lb) > 1 THEN RETURN false; END IF;
      WHILE i <= least(la, lb) AND substr(a, i, 1) = substr(b, i, 1) LOOP i := i + 1; END LOOP;
      IF la = lb THEN
        RETURN substr(a, i + 1) = substr(b, i + 1)
          OR (substr(a, i, 1) = substr(b, i + 1, 1) AND substr(a, i + 1, 1) = substr(b, i, 1)
              AND substr(a, i + 2) = substr(b, i + 2));
      ELSIF la > lb THEN
        RETURN substr(a, i + 1) = substr(b, i);
      ELSE
        RETURN substr(b, i + 1) = substr(a, i);
      END IF;
    END $$
    """,
    # The words one typo away from what was typed, as a tsquery of alternatives; empty
    # when the word (or, typed last, a word it begins) is indexed already: a known word
    # is not a typo, and "drill" must not also find "grill". Candidates come from the
    # trigram index (a low threshold), and for short words, which share too few
    # trigrams with their typos ("bkie" and "bike" share one), also from `variants`,
    # every string one edit away, looked up by primary key; then the exact test.
    """
    CREATE FUNCTION partage_search_typos(typed text, prefix boolean, variants text[])
    RETURNS tsquery
    LANGUAGE plpgsql STABLE SET pg_trgm.similarity_threshold = 0.2 AS $$
    DECLARE
      norm text := (SELECT string_agg(lexeme, '') FROM unnest(to_tsvector('partage_simple', typed)));
      found text;
    BEGIN
      IF norm IS NULL OR length(norm) < 4 THEN RETURN ''::tsquery; END IF;
      IF EXISTS (SELECT 1 FROM listing_search_word
                 WHERE word = ANY (tsvector_to_array(partage_search_layers(norm))))
         OR (prefix AND EXISTS (SELECT 1 FROM listing_search_word
                                WHERE word LIKE norm || '%')) THEN
        RETURN ''::tsquery;
      END IF;
      SELECT string_agg(quote_literal(word), ' | ') INTO found FROM (
        SELECT word FROM (
          SELECT word FROM listing_search_word WHERE word % norm
          UNION SELECT word FROM listing_search_word WHERE word = ANY (variants)
        ) AS near WHERE partage_one_edit(word, norm)
        ORDER BY similarity(word, norm) DESC, word LIMIT 10) AS candidates;
      RETURN coalesce(found::tsquery, ''::tsquery);
    END $$
    """,
    # Index every listing already there (the triggers above fill the word list too).
    f"UPDATE {LISTING} SET search_vector = NULL",
    f"CREATE INDEX listing_search_vector_gin ON {LISTING} USING gin (search_vector)",
    "DROP INDEX IF EXISTS listing_search_gin",
]

POSTGRES_UNINSTALL = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {LISTING}" for name in (
        "listing_search_vector_insert", "listing_search_vector_update",
        "listing_search_words_inserted", "listing_search_words_updated")),
    f"DROP TRIGGER IF EXISTS category_search_words ON {CATEGORY}",
    f"ALTER TABLE {LISTING} DROP COLUMN IF EXISTS search_vector",
    "DROP TABLE IF EXISTS listing_search_word",
    "DROP FUNCTION IF EXISTS partage_search_typos(text, boolean, text[])",
    "DROP FUNCTION IF EXISTS partage_one_edit(text, text)",
    *(f"DROP FUNCTION IF EXISTS {name}()" for name in (
        "listing_search_vector_update", "listing_search_words_inserted",
        "listing_search_words_updated")),
    "DROP FUNCTION IF EXISTS category_search_words_update()",
    "DROP FUNCTION IF EXISTS partage_search_vector(text, text, text)",
    "DROP FUNCTION IF EXISTS partage_search_layers(text)",
    "DROP FUNCTION IF EXISTS partage_search_compounds(text)",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS partage_fr",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS partage_en",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS partage_simple",
    # The index of migration 0004, as it was.
    f"CREATE INDEX IF NOT EXISTS listing_search_gin ON {LISTING} USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, '')))",
]

# ---------------------------------------------------------------------------------------
# SQLite
# ---------------------------------------------------------------------------------------

SQLITE_TABLES = [
    # prefix='2 3': prefix queries of the last word typed read an index, not every term.
    "CREATE VIRTUAL TABLE IF NOT EXISTS listing_fts USING fts5(title, category, body, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS listing_fts_vocab USING fts5vocab(listing_fts, 'row')",
]

# Every row's category column also holds ALL_TOKEN, so a search made only of excluded
# words ("-hammer") can be written "ALL_TOKEN NOT hammer" (FTS5 has no unary NOT).
ALL_TOKEN = "partageall"
_CATEGORY_WORDS = (f"(SELECT '{ALL_TOKEN} ' || partage_search_document(search_words) "
                   f"FROM {CATEGORY} WHERE id = new.category_id)")
_INSERT_ROW = (f"INSERT INTO listing_fts (rowid, title, category, body) VALUES (new.id, "
               f"partage_search_document(new.title), {_CATEGORY_WORDS}, "
               f"partage_search_document(new.description));")
SQLITE_TRIGGERS = {
    "listing_fts_insert": f"AFTER INSERT ON {LISTING} BEGIN {_INSERT_ROW} END",
    "listing_fts_update": (
        f"AFTER UPDATE OF title, description, category_id ON {LISTING} BEGIN "
        f"DELETE FROM listing_fts WHERE rowid = old.id; {_INSERT_ROW} END"
    ),
    "listing_fts_delete": (
        f"AFTER DELETE ON {LISTING} BEGIN DELETE FROM listing_fts WHERE rowid = old.id; END"
    ),
    "category_fts_update": (
        f"AFTER UPDATE OF search_words ON {CATEGORY} "
        f"WHEN old.search_words IS NOT new.search_words BEGIN "
        f"UPDATE {LISTING} SET category_id = category_id WHERE category_id = new.id; END"
    ),
}
SQLITE_REBUILD = [
    "DELETE FROM listing_fts",
    f"INSERT INTO listing_fts (rowid, title, category, body) "
    f"SELECT l.id, partage_search_document(l.title), "
    f"'{ALL_TOKEN} ' || partage_search_document(c.search_words), "
    f"partage_search_document(l.description) "
    f"FROM {LISTING} l JOIN {CATEGORY} c ON c.id = l.category_id",
]
SQLITE_UNINSTALL = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS] + [
    "DROP TABLE IF EXISTS listing_fts_vocab",
    "DROP TABLE IF EXISTS listing_fts",
]


def register_sqlite_functions(connection: BaseDatabaseWrapper) -> None:
    """Make partage_search_document() known to this SQLite connection (the triggers
    call it). Connected to connection_created, so every connection has it."""
    if connection.vendor != "sqlite" or connection.connection is None:
        return
    connection.connection.create_function(
        "partage_search_document", 1, search_text.document, deterministic=True
    )


def drop_sqlite_triggers(connection: BaseDatabaseWrapper) -> None:
    """Before migrations run on SQLite: drop the search triggers. SQLite rebuilds a
    table to add or change a column (copy, drop, rename), and a rename fails while a
    trigger on another table names the table being rebuilt ("error in trigger
    category_fts_update: no such table: main.listings_listing"). ensure_sqlite_search()
    puts them back after migrate and rebuilds the index, so nothing a migration wrote
    is missed."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def ensure_sqlite_search(connection: BaseDatabaseWrapper) -> bool:
    """Create what SQLite search needs and is missing; rebuild the index when a trigger
    was missing (rows may have changed without it). Returns whether it rebuilt."""
    if connection.vendor != "sqlite":
        return False
    introspection_tables = set(connection.introspection.table_names())
    if LISTING not in introspection_tables or CATEGORY not in introspection_tables:
        return False
    with connection.cursor() as cursor:
        columns = {column.name for column in
                   connection.introspection.get_table_description(cursor, CATEGORY)}
    if "search_words" not in columns:  # migrated back before 0009
        return False
    connection.ensure_connection()
    register_sqlite_functions(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()} & set(SQLITE_TRIGGERS)
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'listing_fts'")
        had_table = cursor.fetchone() is not None
        if present == set(SQLITE_TRIGGERS) and had_table:
            return False
        for statement in SQLITE_TABLES:
            cursor.execute(statement)
        for name, body in SQLITE_TRIGGERS.items():
            cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        for statement in SQLITE_REBUILD:
            cursor.execute(statement)
    return True
