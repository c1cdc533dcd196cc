"""Pagination that never counts a whole table.

Django's Paginator runs `COUNT(*)` over every matching row on each request: 24 ms for
the search page at 100,000 listings, and it grows with the catalogue. `CappedPaginator`
counts at most `cap + 1` rows (a `LIMIT`ed subquery) and says "1,000+" beyond that.
Pages past the cap still work: a page reads one row more than it shows, so it knows
whether a next page exists without knowing the total.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.formats import number_format


class CappedPage(Page):
    """A page that knows from its own extra row whether another one follows."""

    def __init__(self, object_list: Sequence[Any], number: int, paginator: CappedPaginator,
                 *, has_next: bool) -> None:
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


class CappedPaginator(Paginator):
    """A Paginator whose `count` stops at `cap + 1`; `is_capped` says it did.

    Below the cap it behaves as Django's own (exact count, last page for a page number
    too large). Past the cap, `num_pages` covers only the counted rows (the numbered
    links), and any page number is served while it has rows.
    """

    def __init__(self, object_list: QuerySet, per_page: int, *, cap: int = 1000,
                 **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        if self.orphans:
            # A page past the cap cannot know whether the next one would be an orphan.
            raise ValueError("CappedPaginator does not support orphans.")
        self.cap = cap

    @cached_property
    def count(self) -> int:
        # No ORDER BY and only the primary key in the subquery: the order does not
        # change how many rows there are, and sorting (by rank, by distance) is the
        # expensive part of a search.
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap

    @property
    def cap_label(self) -> str:
        """The cap as the visitor's language writes numbers ("1,000", "1 000")."""
        return number_format(self.cap, force_grouping=True)

    @cached_property
    def num_pages(self) -> int:
        counted = min(self.count, self.cap)
        if counted == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, math.ceil(counted / self.per_page))

    def validate_number(self, number: Any) -> int:
        if not self.is_capped:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from error
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number: Any) -> CappedPage:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        # One row more than the page shows: it tells whether a next page exists.
        rows = list(self.object_list[bottom: bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        has_next = len(rows) > self.per_page
        return CappedPage(rows[: self.per_page], number, self, has_next=has_next)

    def get_page(self, number: Any) -> CappedPage:
        # As Django's: a bad number is page 1, one past the end the last numbered page
        # (past the cap, "the end" is found only by reading the page).
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)

    def get_elided_page_range(self, number: int = 1, *, on_each_side: int = 3,
                              on_ends: int = 2) -> Iterator[int | str]:
        yield from super().get_elided_page_range(number, on_each_side=on_each_side,
                                                 on_ends=on_ends)
        # The last number shown is not the last page: say that more follow.
        if self.is_capped and number <= self.num_pages:
            yield self.ELLIPSIS
