"""URL path converters of the site (registered in ``config.urls``)."""

import uuid


class AnyCaseUUIDConverter:
    """A UUID in a path, in any letter case (Django's ``uuid`` takes lowercase only, so
    an id copied in uppercase was a 404)."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value) -> str:
        return str(value)
