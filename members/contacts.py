"""The members someone has dealt with: the other side of their exchanges, the people in
their conversations, the members they traded time with. Pages offer them where a member
picks someone (sending hours) instead of asking for an email address, which would tell
anyone whether an address is registered.

members knows nothing of exchanges or messaging: those apps register where their own
counterparts come from, from their AppConfig.ready(), as the ledger's references do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from members.models import Member

# member -> ids of the members on the other side (may include the member's own id).
Source = Callable[[Member], Iterable[int]]
_sources: dict[str, Source] = {}


def register(name: str, source: Source) -> None:
    _sources[name] = source


def people_dealt_with(member: Member) -> list[Member]:
    """Active members other than `member` found by any registered source, by name."""
    ids: set[int] = set()
    for source in _sources.values():
        ids.update(source(member))
    ids.discard(member.pk)
    if not ids:
        return []
    found = Member.objects.filter(pk__in=ids, is_active=True)
    return sorted(found, key=lambda m: (m.public_name.casefold(), m.pk))
