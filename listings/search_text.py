"""Words as search sees them, in English and French, the same on both databases.

A listing's title, category names (in every language the site ships) and description
are indexed in three layers: the words themselves (lower case, accents dropped), their
English stems and their French stems. A query word matches when any of its layers meets
any of the document's, so "vélo", "velo" and "Vélos", or "bike" and "bikes", find the
same listings whichever language they were written in.

PostgreSQL builds the layers itself with three text search configurations built on
`unaccent` (migration 0009: partage_simple, partage_en, partage_fr). SQLite has no
French stemmer: the layers are built here in Python, with Snowball's English and French
stemmers, the algorithms PostgreSQL's english_stem and french_stem dictionaries run,
and FTS5 indexes the result (listings/search_schema.py).

Hyphenated words also count as one word ("baby-sitting" is indexed as "baby",
"sitting" and "babysitting"), so a hyphen, a space or nothing between the parts find
each other.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

import snowballstemmer

# A word: letters and digits only (a hyphen, an apostrophe or any other sign separates).
TOKEN = re.compile(r"[^\W_]+")
# Words joined by hyphens ("baby-sitting", "porte-vélo"), after normalisation.
HYPHENATED = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
# Letters that NFKD does not split into a letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})

_stemmers = threading.local()


def normalise(text: str) -> str:
    """Lower case without accents: "Vélos ÉLECTRIQUES" -> "velos electriques"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str) -> list[str]:
    return TOKEN.findall(normalise(text))


def compounds(text: str) -> list[str]:
    """The hyphenated words of `text`, each written as one: "baby-sitting" -> "babysitting"."""
    return ["".join(TOKEN.findall(match)) for match in HYPHENATED.findall(normalise(text))]


def _stemmer(language: str):
    # Snowball's stemmer objects keep state between calls: one per thread.
    stemmer = getattr(_stemmers, language, None)
    if stemmer is None:
        stemmer = snowballstemmer.stemmer(language)
        setattr(_stemmers, language, stemmer)
    return stemmer


# Stemming is pure Python and words repeat: a bulk load stems each distinct word once.
@functools.lru_cache(maxsize=65536)
def stem_en(word: str) -> str:
    return _stemmer("english").stemWord(word)


@functools.lru_cache(maxsize=65536)
def stem_fr(word: str) -> str:
    return _stemmer("french").stemWord(word)


def forms(word: str) -> list[str]:
    """A normalised word and its stems, without repeats: "velos" -> ["velos", "velo"]."""
    return list(dict.fromkeys((word, stem_en(word), stem_fr(word))))


@functools.lru_cache(maxsize=1024)  # a category's words come with each of its listings
def document(text: str | None) -> str:
    """What SQLite's FTS5 indexes for one field: the words, then their English stems,
    then their French stems (each layer in order, so a phrase matches within a layer)."""
    words = tokens(text or "") + compounds(text or "")
    return " ".join(words + [stem_en(w) for w in words] + [stem_fr(w) for w in words])
