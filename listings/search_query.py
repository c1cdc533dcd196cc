"""From what a member types to a database query, PostgreSQL or SQLite.

The syntax is web search's, as before: words must all match, "a phrase" matches words
in a row, -word excludes, `or` separates alternatives. Each word then matches in every
layer of listings/search_text.py (itself, its English and its French stems), plus:

- the last word typed also matches the words it begins ("perc" finds "perceuse");
- a hyphenated word also matches written as one ("baby-sitting" finds "babysitting"),
  and so do two words typed in a row ("baby sitting"), for queries of a few words;
- a word of four letters or more that is indexed nowhere also matches the indexed
  words one typo away (a letter replaced, added, removed, or two swapped).

Relevance: listings whose title matches come first. On PostgreSQL then by full-text
rank (title words weigh more than the category's, which weigh more than the
description's); on SQLite category matches come next, then the rest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.db.models import BooleanField, Expression, FloatField

from listings import search_schema
from listings.search_text import compounds, forms, stem_en, stem_fr, tokens

# Web-search syntax, as PostgreSQL's websearch_to_tsquery reads it.
_TERM = re.compile(r'(-?)"([^"]*)"|(\S+)')
# Two words typed in a row are also tried as one word, up to this many words per
# alternative (the alternatives grow like Fibonacci numbers: 4 words, 5 ways).
MAX_JOINED_WORDS = 4
MIN_TYPO_LENGTH = 4
MIN_PREFIX_LENGTH = 2
# Up to this length PostgreSQL also looks up every string one edit away (trigrams
# alone miss the typos of short words).
MAX_VARIANT_LOOKUP_LENGTH = 6


@dataclass(frozen=True)
class Unit:
    """One thing that must be found: a word, or words in a row (a phrase, or the parts
    of a hyphenated word)."""

    words: tuple[str, ...]
    joined: str = ""  # the same written as one word, when that is worth trying too
    prefix: bool = False  # the last word typed: also the words it begins
    typo: bool = True  # also the indexed words one typo away, when it is indexed nowhere

    @property
    def single(self) -> bool:
        return len(self.words) == 1


@dataclass(frozen=True)
class Clause:
    """All of `required` (each a choice of ways: one way is a list of units that must
    all be found) and none of `excluded`."""

    required: tuple[tuple[tuple[Unit, ...], ...], ...]
    excluded: tuple[Unit, ...]


def parse(text: str) -> list[Clause]:
    """The alternatives of `text` (split on `or`); empty when nothing is left to match."""
    raw_groups: list[list[tuple[str, bool, bool]]] = [[]]
    for match in _TERM.finditer(text or ""):
        minus, phrase, word = match.groups()
        if word is not None and word.lower() == "or":
            if raw_groups[-1]:
                raw_groups.append([])
            continue
        if word is not None:
            excluded, term, quoted = word.startswith("-"), word.lstrip("-"), False
        else:
            excluded, term, quoted = minus == "-", phrase, True
        term = term.strip('"')
        if tokens(term):
            raw_groups[-1].append((term, excluded, quoted))
    raw_groups = [group for group in raw_groups if group]
    clauses = []
    for index, group in enumerate(raw_groups):
        last_term = group[-1] if index == len(raw_groups) - 1 else None
        required: list[Unit] = []
        excluded: list[Unit] = []
        for term, is_excluded, quoted in group:
            words = tuple(tokens(term))
            prefix = (term, is_excluded, quoted) == last_term and not is_excluded \
                and not quoted and len(words[-1]) >= MIN_PREFIX_LENGTH
            joined = "".join(words) if not quoted and compounds(term) else ""
            unit = Unit(words=words, joined=joined, prefix=prefix, typo=not is_excluded)
            (excluded if is_excluded else required).append(unit)
        if required or excluded:
            clauses.append(Clause(required=_with_joins(required), excluded=tuple(excluded)))
    return clauses


def _with_joins(units: list[Unit]) -> tuple[tuple[tuple[Unit, ...], ...], ...]:
    """Each unit on its own, except that runs of single words may also be read with
    neighbours written as one: "baby sitting" is (baby, sitting) or (babysitting)."""
    if len(units) < 2 or len(units) > MAX_JOINED_WORDS:
        return tuple(((unit,),) for unit in units)
    ways: list[list[Unit]] = [[]]
    # Every segmentation of the list into singles and joined neighbours.
    def extend(start: int, so_far: list[Unit]) -> None:
        if start == len(units):
            ways.append(so_far)
            return
        extend(start + 1, [*so_far, units[start]])
        if start + 1 < len(units):
            first, second = units[start], units[start + 1]
            if first.single and second.single:
                joined = first.words[0] + second.words[0]
                extend(start + 2, [*so_far, Unit(words=(joined,), prefix=second.prefix,
                                                 typo=False)])

    ways.clear()
    extend(0, [])
    if len(ways) == 1:
        return tuple(((unit,),) for unit in units)
    return (tuple(tuple(way) for way in ways),)


# ---------------------------------------------------------------------------------------
# PostgreSQL: one tsquery, computed once per statement
# ---------------------------------------------------------------------------------------

_CONFIGS = ("partage_simple", "partage_en", "partage_fr")


def _pg_unit(unit: Unit) -> tuple[str, list]:
    parts: list[str] = []
    params: list = []
    if unit.single:
        word = unit.words[0]
        for config in _CONFIGS:
            parts.append(f"plainto_tsquery('{config}', %s)")
            params.append(word)
        if unit.prefix:
            parts.append("to_tsquery('partage_simple', %s)")
            params.append(f"'{word}':*")
        if unit.typo and len(word) >= MIN_TYPO_LENGTH and not word.isdigit():
            parts.append("partage_search_typos(%s, %s, %s::text[])")
            short = len(word) <= MAX_VARIANT_LOOKUP_LENGTH
            params.extend([word, unit.prefix, one_typo_away(word) if short else []])
    else:
        phrase = " ".join(unit.words)
        for config in _CONFIGS:
            parts.append(f"phraseto_tsquery('{config}', %s)")
            params.append(phrase)
    if unit.joined:
        # The parts were looked up for typos already.
        sql, more = _pg_unit(Unit(words=(unit.joined,), prefix=unit.prefix, typo=False))
        parts.append(sql)
        params.extend(more)
    return "(" + " || ".join(parts) + ")", params


def _pg_all(units: tuple[Unit, ...]) -> tuple[str, list]:
    sqls, params = [], []
    for unit in units:
        sql, more = _pg_unit(unit)
        sqls.append(sql)
        params.extend(more)
    return "(" + " && ".join(sqls) + ")", params


def postgres_tsquery(clauses: list[Clause]) -> tuple[str, list]:
    """SQL of the query's tsquery, and its parameters."""
    alternatives, params = [], []
    for clause in clauses:
        parts = []
        for ways in clause.required:
            way_sqls = []
            for way in ways:
                sql, more = _pg_all(way)
                way_sqls.append(sql)
                params.extend(more)
            parts.append("(" + " || ".join(way_sqls) + ")")
        for unit in clause.excluded:
            sql, more = _pg_unit(unit)
            parts.append(f"!!{sql}")
            params.extend(more)
        alternatives.append("(" + " && ".join(parts) + ")")
    return " || ".join(alternatives), params


# ---------------------------------------------------------------------------------------
# SQLite: one FTS5 MATCH expression
# ---------------------------------------------------------------------------------------


# Where a typo lookup goes in the MATCH text; filled by a subquery (see sqlite_match).
_SLOT = "\x00"
_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def one_typo_away(word: str) -> list[str]:
    """Every string one letter replaced, added, removed, or two neighbours swapped
    from `word` (letters a-z and digits: words are indexed without accents)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {a + b[1:] for a, b in splits if b}
    variants |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    variants |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    variants |= {a + c + b for a, b in splits for c in _LETTERS}
    variants.discard(word)
    return sorted(variants)


def _fts_unit(unit: Unit, typos: list[tuple[str, bool]]) -> str:
    if unit.single:
        word = unit.words[0]
        options = [f'"{form}"' for form in forms(word)]
        if unit.prefix:
            options.append(f'"{word}"*')
        if unit.typo and len(word) >= MIN_TYPO_LENGTH and not word.isdigit():
            typos.append((word, unit.prefix))
            options[-1] += _SLOT
    else:
        layers = (unit.words, [stem_en(w) for w in unit.words], [stem_fr(w) for w in unit.words])
        options = list(dict.fromkeys('"' + " ".join(layer) + '"' for layer in layers))
    if unit.joined:
        options.append(_fts_unit(Unit(words=(unit.joined,), prefix=unit.prefix, typo=False),
                                 typos))
    return "(" + " OR ".join(options) + ")"


# The typo alternatives of one word, " OR "-prefixed, or '' when the word (or, typed
# last, a word it begins) is indexed already: a known word is not a typo.
_SQLITE_TYPOS = (
    # Known words first (a CASE stops there): most words typed are, and their check is
    # three lookups where the typo candidates are hundreds. Candidates drive the join
    # (json_each), each looked up by term: fts5vocab answers `term = ?` from its index.
    "(CASE WHEN EXISTS (SELECT 1 FROM json_each(%s) AS k JOIN listing_fts_vocab AS w"
    " ON w.term = k.value)"
    " OR (%s AND EXISTS (SELECT 1 FROM listing_fts_vocab WHERE term >= %s AND term < %s))"
    " THEN '' ELSE coalesce((SELECT group_concat(' OR \"' || term || '\"', '') FROM ("
    "SELECT v.term AS term FROM json_each(%s) AS j JOIN listing_fts_vocab AS v"
    " ON v.term = j.value ORDER BY v.doc DESC, v.term LIMIT 10)), '') END)"
)


def sqlite_match(clauses: list[Clause]) -> tuple[str, list]:
    """SQL of the FTS5 MATCH text of the query, and its parameters: the text is
    built in Python, but the typo alternatives of unknown words come from the index's
    vocabulary in the same statement (no extra round trip)."""
    typos: list[tuple[str, bool]] = []
    alternatives = []
    for clause in clauses:
        parts = []
        for ways in clause.required:
            parts.append("(" + " OR ".join(
                "(" + " AND ".join(_fts_unit(unit, typos) for unit in way) + ")"
                for way in ways
            ) + ")")
        expression = " AND ".join(parts) if parts else search_schema.ALL_TOKEN
        for unit in clause.excluded:
            expression = f"({expression}) NOT {_fts_unit(unit, typos)}"
        alternatives.append(f"({expression})")
    pieces = " OR ".join(alternatives).split(_SLOT)
    sql, params = ["%s"], [pieces[0]]
    for (word, prefix), piece in zip(typos, pieces[1:], strict=True):
        sql += [_SQLITE_TYPOS, "%s"]
        params += [json.dumps(forms(word)), prefix, word, word + "\uffff",
                   json.dumps(one_typo_away(word)), piece]
    return " || ".join(sql), params


# ---------------------------------------------------------------------------------------
# Expressions on the listing table (the search column is not a model field)
# ---------------------------------------------------------------------------------------


class ListingSearchSQL(Expression):
    """SQL on the queryset's listing table: `<listing>` in `template` is replaced by
    the table's alias, so it stays right inside subqueries (saved searches use Exists)."""

    def __init__(self, template: str, params: tuple, output_field) -> None:
        super().__init__(output_field=output_field)
        self.template = template
        self.params = tuple(params)
        self.alias: str | None = None

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False,
                           for_save=False):
        clone = self.copy()
        clone.alias = query.get_initial_alias()
        return clone

    def relabeled_clone(self, change_map):
        clone = self.copy()
        clone.alias = change_map.get(self.alias, self.alias)
        return clone

    def get_group_by_cols(self):
        return []

    def as_sql(self, compiler, connection):
        return self.template.replace("<listing>", compiler.quote_name_unless_alias(self.alias)), \
            list(self.params)


def match_and_rank(clauses: list[Clause], vendor: str) -> tuple[Expression, Expression]:
    """The filter and the rank (higher is better) of the query, for `vendor`."""
    if vendor == "postgresql":
        tsquery, params = postgres_tsquery(clauses)
        # A subquery: computed once per statement (an InitPlan), never once per row,
        # whatever plan is chosen (the typo lookup reads a table).
        query = f"(SELECT {tsquery})"
        vector = "<listing>.search_vector"
        match = ListingSearchSQL(f"{vector} @@ {query}", params, BooleanField())
        rank = ListingSearchSQL(
            f"(CASE WHEN ts_filter({vector}, '{{a}}') @@ {query} THEN 1.0 ELSE 0.0 END"
            f" + ts_rank({vector}, {query}, 32))",
            params * 2, FloatField(),
        )
        return match, rank
    expression, params = sqlite_match(clauses)
    match = ListingSearchSQL(
        f"<listing>.id IN (SELECT rowid FROM listing_fts WHERE listing_fts MATCH ({expression}))",
        params, BooleanField(),
    )
    # Title matches first, then category matches, then the rest (newest first within
    # each, by the page's tie-break). Each IN is computed once per statement; bm25()
    # needed a subquery per match, which re-ran the typo lookups: 72 -> 508 ms for
    # "vélo électrique" at 10,000 listings.
    in_column = ("<listing>.id IN (SELECT rowid FROM listing_fts WHERE listing_fts MATCH"
                 " ('{column} : (' || %s || ')'))")
    rank = ListingSearchSQL(
        f"(CASE WHEN {in_column.format(column='title').replace('%s', expression)} THEN 2.0"
        f" WHEN {in_column.format(column='category').replace('%s', expression)} THEN 1.0"
        f" ELSE 0.0 END)",
        params * 2, FloatField(),
    )
    return match, rank
