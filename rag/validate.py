"""Validation shared by the edges (the CLI and the HTTP schemas): dates in filters."""

from __future__ import annotations

import re
from datetime import date, datetime

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")

DATE_FORMAT = "YYYY-MM-DD (e.g. 2023-01-31) or an ISO datetime (e.g. 2023-01-31T08:00:00)"


def iso_date(value: str | None) -> str | None:
    """`YYYY-MM-DD` or a full ISO datetime (`YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]`), stripped; anything
    else (week dates, `20230101`, impossible days) raises ValueError naming the expected format."""
    if value is None:
        return None
    value = value.strip()
    try:
        if _ISO_DATE.fullmatch(value):
            date.fromisoformat(value)
        elif _ISO_DATETIME.fullmatch(value):
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            raise ValueError("not in the format")
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date in the form {DATE_FORMAT}") from exc
    return value


def date_range(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """Both dates checked, and `since` not after `until` (ValueError saying to swap them)."""
    since, until = iso_date(since), iso_date(until)
    if since and until and since[:10] > until[:10]:
        raise ValueError(f"since ({since}) is after until ({until}); swap them")
    return since, until
