"""The one rule for a time without a zone (workbench.times): the config's ``timezone`` if given,
else the machine's zone; restore (``--at``) and the catalog (``recovery_plan(at=)``,
``find_messages(since=, until=)``) read times alike."""

import time
from datetime import date, datetime, timedelta, timezone

import pytest

import workbench
from workbench import catalog
from workbench.config import Config
from workbench.errors import SelectionError
from workbench.times import as_utc, parse_time

from helpers import make_store

UTC = timezone.utc
T0 = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def machine_zone(monkeypatch):
    """Put the machine's clock in *zone* for the test (TZ, then tzset), and back afterwards."""
    def put(zone):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield put
    monkeypatch.undo()
    time.tzset()


def test_times_with_a_zone_mean_what_they_say():
    want = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
    for text in ("2026-11-26T13:30Z", "2026-11-26 13:30z", "2026-11-26 13:30 UTC",
                 "2026-11-26T14:30+01:00", "2026-11-26T13:30:00+00:00"):
        assert parse_time(text, zone="Asia/Tokyo") == want, text
    assert parse_time(want.astimezone(timezone(timedelta(hours=5)))) == want


def test_a_time_without_a_zone_is_in_the_config_zone_else_the_machines(machine_zone):
    machine_zone("America/New_York")  # UTC-5 in November
    assert parse_time("2026-11-26 14:30") == datetime(2026, 11, 26, 19, 30, tzinfo=UTC)
    assert parse_time("2026-11-26 14:30", zone="Europe/Prague") == \
        datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
    assert parse_time(datetime(2026, 11, 26, 14, 30)) == datetime(2026, 11, 26, 19, 30, tzinfo=UTC)
    assert parse_time(date(2026, 11, 26)) == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    assert as_utc(datetime(2026, 11, 26, 14, 30), "UTC") == datetime(2026, 11, 26, 14, 30,
                                                                      tzinfo=UTC)


def test_what_is_not_a_time_is_refused_naming_the_key():
    for bad in ("yesterday", "", "2026-13-01", "12:00 tomorrow"):
        with pytest.raises(SelectionError, match=r"--at .*not a time"):
            parse_time(bad)
    with pytest.raises(SelectionError, match="since 'x': not a time"):
        parse_time("x", "since")


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory):
    """A full at T0 and a differential a day later."""
    root = tmp_path_factory.mktemp("times")
    store = make_store(root / "server", messages=30, seed=3)
    target = str(root / "bk")
    names = [workbench.backup(kind, store=store, target=target, min_free=0,
                              now=T0 + timedelta(days=day)).set_name
             for day, kind in enumerate(("full", "differential"))]
    return target, names


def test_restore_and_the_catalog_read_a_naive_time_alike(two_sets, machine_zone):
    """2026-11-01 22:00 in New York is 03:00 UTC on the 2nd: after the differential. (The
    catalog used to read it as UTC, and chose the full.)"""
    target, (full, diff) = two_sets
    machine_zone("America/New_York")
    naive = "2026-11-01 22:00"
    assert str(workbench.plan_restore(None, at=naive, target=target).set.name) == diff
    assert catalog.recovery_plan(target, at=naive).set == diff
    assert catalog.recovery_plan(target, at=datetime(2026, 11, 1, 22, 0)).set == diff
    # An hour before the differential, New York time: the full, for both.
    naive = "2026-11-01 19:30"
    assert str(workbench.plan_restore(None, at=naive, target=target).set.name) == full
    assert catalog.recovery_plan(target, at=naive).set == full
    # find_messages' date range is read by the same rule.
    found = catalog.find_messages(target, since="1970-01-01 00:00", sets=[full])
    assert len(found) and found["date"].min() >= datetime(1970, 1, 1, 5, tzinfo=UTC)


def test_the_config_timezone_wins_over_the_machines(two_sets, machine_zone):
    target, (full, diff) = two_sets
    machine_zone("UTC")
    # 09:30 in Tokyo on the 2nd is 00:30 UTC: before the differential (01:00 UTC).
    tokyo = Config(target=target, timezone="Asia/Tokyo")
    assert str(workbench.plan_restore(None, at="2026-11-02 09:30", config=tokyo).set.name) == full
    assert str(workbench.plan_restore(None, at="2026-11-02 09:30", target=target).set.name) == diff
    # The catalog reads the config the same way.
    assert catalog.recovery_plan(at="2026-11-02 09:30", config=tokyo).set == full
    assert catalog.recovery_plan(target, at="2026-11-02 09:30").set == diff
