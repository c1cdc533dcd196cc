"""Links from a transfer's opaque reference ("exchange:42") to the page of what caused it.

The ledger knows nothing of listings or exchanges: the apps that post transfers register
how to link their own references, from their AppConfig.ready(). A reference nobody
registered, or one that is not of the form "<prefix>:<id>", has no link.
"""

from __future__ import annotations

from collections.abc import Callable

_resolvers: dict[str, Callable[[int], str]] = {}


def register(prefix: str, resolver: Callable[[int], str]) -> None:
    """`resolver(id)` returns the URL of the thing "<prefix>:<id>" names."""
    _resolvers[prefix] = resolver


def url_for(reference: str) -> str | None:
    prefix, _sep, rest = (reference or "").partition(":")
    resolver = _resolvers.get(prefix)
    if resolver is None or not rest.isdigit():
        return None
    return resolver(int(rest))
