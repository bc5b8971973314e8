"""Types of the fields that HTTP requests carry, shared by the routes' request models."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _written_as_iso_date(value: object) -> object:
    """A date as the schema says, YYYY-MM-DD (a `date` passes too, for callers in Python):
    pydantic alone also reads 0 or "0" as 1970-01-01, and a date-time as its date."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_written_as_iso_date)]
