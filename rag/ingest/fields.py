"""Article fields common to every format: ids, default titles, dates."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

MAX_ID_CHARS = 500  # one limit for article ids: on the way in (every source) and on read/delete
TITLE_MAX_CHARS = 80  # default titles (first line of a record's text) are cut to this
DATE = r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
TIME = r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"


def default_title(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:TITLE_MAX_CHARS]


def content_id(title: str, text: str) -> str:
    return "h" + hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()[:16]


def iso_from_match(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    parts = match.groupdict()
    try:
        y, m, d = int(parts["y"]), int(parts["m"]), int(parts["d"])
        hour, minute, second = (int(parts[k]) if parts.get(k) else None for k in ("H", "M", "S"))
        datetime(y, m, d, hour or 0, minute or 0, second or 0)
    except (ValueError, TypeError):
        return None
    iso = f"{y:04d}-{m:02d}-{d:02d}"
    if hour is not None and minute is not None:
        iso += f"T{hour:02d}:{minute:02d}" + (f":{second:02d}" if second is not None else "")
    return iso
