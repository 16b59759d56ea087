"""Times people type (``--at``, ``at=``, ``since=``, ``until=``): one rule for a time without a zone.

The rule: a time that names no zone is a time in the config's ``timezone`` when one is given,
else in the machine's local zone, the zone the admin's clock shows. Restore (``--at``), the
catalog (``recovery_plan(at=)``, ``find_messages(since=, until=)``, ``forecast_storage(now=)``),
the choice of a set (``sets.choose_set``), the notebook forms and the command line all read times
through :func:`parse_time` or :func:`as_utc`, so the same text means the same moment everywhere.
A leaf module: it imports only workbench.errors.
"""

from datetime import date, datetime, timezone

from .errors import SelectionError

# Zone words people append to a time; they mean UTC.
_UTC_SUFFIXES = ("utc", "gmt", "z")


def as_utc(when, zone=None):
    """The aware UTC datetime of *when*; a naive one is read in *zone* (an IANA name such as
    ``"Europe/Prague"``, the config's ``timezone``), or without one in the machine's zone."""
    if when.tzinfo is None:
        if zone:
            from zoneinfo import ZoneInfo  # only for a time typed without a zone
            when = when.replace(tzinfo=ZoneInfo(zone))
        else:
            when = when.astimezone()
    return when.astimezone(timezone.utc)


def parse_time(value, key="--at", zone=None):
    """The aware UTC datetime of a time given as a datetime (pandas Timestamps included), a date
    (its midnight) or text: ISO 8601 (``2026-11-26T14:30``, ``2026-11-26 14:30``, ``2026-11-26``,
    with ``Z``, ``+01:00`` or a trailing ``UTC``). A time without a zone is read as
    :func:`as_utc` says: in *zone*, else in the machine's zone.

    Raises SelectionError naming *key* and the value when it is not a time.
    """
    if isinstance(value, datetime):
        if value != value:  # pandas' NaT
            raise _not_a_time(key, value)
        return as_utc(value, zone)
    if isinstance(value, date):
        return as_utc(datetime(value.year, value.month, value.day), zone)
    text = str(value).strip()
    lowered = text.lower()
    for suffix in _UTC_SUFFIXES:
        if lowered.endswith(suffix) and len(text) > len(suffix):
            text = text[:-len(suffix)].rstrip() + "+00:00"
            break
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _not_a_time(key, value) from None
    return as_utc(when, zone)


def _not_a_time(key, value):
    return SelectionError(f"{key} {value!r}: not a time; use ISO 8601 such as 2026-11-26T14:30, "
                          "2026-11-26 14:30 or 2026-11-26T13:30Z (a time without a zone is in "
                          "the config's timezone, else the machine's)")


__all__ = ["parse_time", "as_utc"]
