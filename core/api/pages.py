"""The API's one list shape: ``{"success": true, "data": [...], "pagination": {"limit",
"offset", "nextOffset"}}``. Every list is read a page at a time with ``?limit=`` and
``?offset=``; ``nextOffset`` is the offset of the next page, or null on the last one. No
total is counted (counting a big table costs more than the page): the page reads one row
more than it shows, which says whether another follows."""

from dataclasses import dataclass

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from core.pagination import page_rows

from .params import MAX_WHOLE_NUMBER, whole_number


class PaginationSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="The page size used.")
    offset = serializers.IntegerField(help_text="Where this page starts, from 0.")
    nextOffset = serializers.IntegerField(  # noqa: N815
        allow_null=True, help_text="The offset of the next page; null on the last page."
    )


@dataclass(frozen=True)
class PageSize:
    """A list's page size: ``default`` when ``?limit=`` is absent, at most ``maximum``."""

    default: int
    maximum: int

    def parameters(self) -> list[OpenApiParameter]:
        """``limit`` and ``offset`` as the schema documents them (with their defaults)."""
        return [
            OpenApiParameter(
                "limit",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.maximum,
                    "default": self.default,
                },
                description="Rows per page.",
            ),
            OpenApiParameter(
                "offset",
                {"type": "integer", "minimum": 0, "maximum": MAX_WHOLE_NUMBER, "default": 0},
                description="Rows to skip: the previous page's pagination.nextOffset.",
            ),
        ]


@dataclass(frozen=True)
class Page:
    rows: list
    pagination: dict


def paginate(request: Request, rows: QuerySet, size: PageSize, *, key: str | None = None) -> Page:
    """The page of ``rows`` that ``?limit=`` and ``?offset=`` ask for (a bad value is a
    400 naming it); ``key`` as in ``core.pagination.page_rows``."""
    limit = whole_number(request, "limit", default=size.default, minimum=1, maximum=size.maximum)
    offset = whole_number(request, "offset", default=0)
    page = page_rows(rows, offset, offset + limit + 1, key=key)
    return Page(
        rows=page[:limit],
        pagination={
            "limit": limit,
            "offset": offset,
            "nextOffset": offset + limit if len(page) > limit else None,
        },
    )
