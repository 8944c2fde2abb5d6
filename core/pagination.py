"""Pagination that stays fast on big tables.

Counting a million rows costs more than the page itself, so a list counts exactly only up
to ``LIST_EXACT_COUNT_LIMIT`` rows: above that, the count is PostgreSQL's planner estimate
(shown as "about N"), and the page itself tells whether there is a next one (it reads one
row more than it shows). The last page, once reached, makes the count exact again; a
page number beyond the real end goes to the real last page.
"""

import json
import math
from collections.abc import Callable

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet, Subquery
from django.utils.functional import cached_property

Estimate = Callable[[QuerySet], int | None]


def planner_estimate(queryset: QuerySet) -> int | None:
    """The number of rows PostgreSQL's planner expects the query to return (from the
    table statistics: no rows are read)."""
    if queryset.query.is_empty():
        return 0
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def page_rows(rows: QuerySet, start: int, stop: int, *, key: str | None = None) -> list:
    """``rows[start:stop]``, skipping the first ``start`` rows on their keys alone: the
    page is found first (an index walk that reads no joined table, and no table at all
    when an index holds the keys), then just its rows are read with everything they
    join. A deep page costs that walk, not ``start`` rows joined and thrown away.

    ``key``: a column the rows are ordered by and unique on (a job's item positions);
    the page then starts at the ``start``-th key. Otherwise the primary keys are walked
    in the queryset's own order.
    """
    if not isinstance(rows, QuerySet) or rows.query.annotations or rows.query.distinct or not start:
        return list(rows[start:stop])
    if key is not None:
        first = rows.order_by(key).values(key)[start : start + 1]
        return list(rows.filter(**{f"{key}__gte": Subquery(first)}).order_by(key)[: stop - start])
    return list(rows.filter(pk__in=rows.values("pk")[start:stop]))


class EstimatedPage(Page):
    """A page that knows whether another follows without the exact count."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


class EstimatedPaginator(Paginator):
    """A ``Paginator`` whose count is exact up to ``exact_limit`` rows and estimated
    above it (``estimated`` tells which); pages answer ``has_next`` exactly either way,
    and are read as ``page_rows`` does (``key``: see there)."""

    def __init__(
        self,
        object_list: QuerySet,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
        *,
        exact_limit: int | None = None,
        estimate: Estimate = planner_estimate,
        key: str | None = None,
    ):
        if orphans:
            raise ValueError(
                "EstimatedPaginator has no orphans: the last page is found, not counted"
            )
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.key = key
        self.exact_limit = settings.LIST_EXACT_COUNT_LIMIT if exact_limit is None else exact_limit
        self.estimate = estimate
        self._exact: int | None = None
        self._pages_seen = 0  # pages known to exist (a page that has a next one)

    @cached_property
    def estimated_count(self) -> int | None:
        """The planner's estimate when it is above the exact limit, else ``None``."""
        guess = self.estimate(self.object_list)
        return guess if guess is not None and guess > self.exact_limit else None

    @property
    def estimated(self) -> bool:
        return self._exact is None and self.estimated_count is not None

    @property
    def count_text(self) -> str:
        """The count for people: ``1,234``, or ``about 1,100,000`` (two significant
        digits) when estimated."""
        if not self.estimated:
            return intcomma(self.count)
        return f"about {intcomma(round(self.count, 2 - len(str(self.count))))}"

    @property
    def num_pages_text(self) -> str:
        return f"{'about ' if self.estimated else ''}{intcomma(self.num_pages)}"

    @property
    def count(self) -> int:
        if self.estimated:
            return self.estimated_count
        if self._exact is None:
            self._exact = self.object_list.count()
        return self._exact

    @property
    def num_pages(self) -> int:
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, math.ceil(self.count / self.per_page), self._pages_seen)

    def validate_number(self, number) -> int:
        if not self.estimated:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number  # the end is known only once a page finds it

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = page_rows(self.object_list, bottom, bottom + self.per_page + 1, key=self.key)
        if not rows and number > 1:
            # Past the real end (the estimate was high): count, and say so.
            self._exact = self.object_list.count()
            raise EmptyPage(self.error_messages["no_results"])
        more = len(rows) > self.per_page
        self._pages_seen = max(self._pages_seen, number + more)
        if not more and self.estimated:
            self._exact = bottom + len(rows)  # the last page: now the count is known
        return EstimatedPage(rows[: self.per_page], number, self, more=more)

    def get_page(self, number) -> Page:
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            try:
                return self.page(self.num_pages)
            except EmptyPage:  # beyond an estimate that was high: now the count is exact
                return self.page(self.num_pages)
