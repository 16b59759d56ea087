"""The pure rules, tested without building a store: rotation plans, kmsrecover selections, kind
letters, sizes, progress throttling and config validation (times: tests/test_times.py; headers:
tests/test_headers.py)."""

import pytest

from workbench.config import Config, validate
from workbench.errors import ConfigError, SelectionError
from workbench.model import Entry
from workbench.naming import kind_letter, kind_name, make_set_name, parse_set_name
from workbench.progress import Meter, Progress, Throttle
from workbench.rotation import plan_rotation
from workbench.selection import Selection, mask_of, parse_mask
from workbench.sets import COMPLETE, DAMAGED, SetInfo
from workbench.sizes import human_size, parse_size
from workbench.store import classify


def s(name, status=COMPLETE, base=None):
    """A SetInfo as list_sets gives it, without a target: a full, or a differential of *base*."""
    header = {"base": base} if base else {}
    return SetInfo(parse_set_name(name), status=status, header=header)


# --- rotation plans --------------------------------------------------------------------------

def test_rotation_keeps_whole_chains_and_never_counts_a_damaged_set():
    sets = [s("F20261101T010000Z"), s("D20261102T010000Z", base="F20261101T010000Z"),
            s("F20261108T010000Z"), s("D20261109T010000Z", base="F20261108T010000Z"),
            s("F20261115T010000Z", status=DAMAGED), s("F20261122T010000Z")]
    plan = {d.set: d.action for d in plan_rotation(sets, 2)}
    assert plan == {"F20261101T010000Z": "delete", "D20261102T010000Z": "delete",
                    "F20261108T010000Z": "keep", "D20261109T010000Z": "keep",
                    "F20261115T010000Z": "keep", "F20261122T010000Z": "keep"}
    reasons = {d.set: d.reason for d in plan_rotation(sets, 2)}
    assert reasons["D20261102T010000Z"] == "its full F20261101T010000Z is rotated out"
    assert "not counted among the complete backups" in reasons["F20261115T010000Z"]


def test_a_full_that_a_kept_differential_needs_is_kept():
    sets = [s("F20261101T010000Z"), s("D20261102T010000Z", status=DAMAGED,
                                      base="F20261101T010000Z"), s("F20261108T010000Z")]
    plan = {d.set: (d.action, d.reason) for d in plan_rotation(sets, 1)}
    assert plan["F20261101T010000Z"] == ("keep", "the full of kept differential "
                                                 "D20261102T010000Z")


# --- kmsrecover selections -------------------------------------------------------------------

def entry(path):
    kind, domain, user, folder = classify(path)
    return Entry(path, kind, domain, user, folder, 1, 0)


PATHS = ["mailserver.cfg", "users.cfg", "license/license.key", "sslcert/server.crt",
         "store/mail/example.com/jane/INBOX/#msgs/00000001.eml",
         "store/mail/example.com/jane/INBOX/Projects/#msgs/00000002.eml",
         "store/mail/example.com/jane/INBOXES/#msgs/00000003.eml",
         "store/mail/example.com/jane/INBOX/index.fld",
         "store/mail/Example.com/John/Sent/#msgs/00000004.eml",
         "store/mail/example.com/#public/News/#msgs/00000005.eml",
         "store/mail/example.com/domain.dat", "store/lists/example.com/staff/list.cfg",
         "store/archive/example.com/a.eml", "store/spam/bayes.db"]


def picked(**selection):
    sel = Selection(**selection)
    return [p for p in PATHS if sel.matches(entry(p))]


def test_a_folder_is_taken_with_its_subfolders_and_nothing_that_only_starts_alike():
    assert picked(domain="example.com", user="jane", folder="INBOX/") == [
        "store/mail/example.com/jane/INBOX/#msgs/00000001.eml",
        "store/mail/example.com/jane/INBOX/Projects/#msgs/00000002.eml",
        "store/mail/example.com/jane/INBOX/index.fld"]


def test_domain_and_user_compare_without_case_and_mean_mail_only():
    assert picked(domain="EXAMPLE.COM", user="john") == [
        "store/mail/Example.com/John/Sent/#msgs/00000004.eml"]
    # A file of the domain outside any mailbox is no mailbox's mail.
    assert "store/mail/example.com/domain.dat" not in picked(domain="example.com")
    assert "store/mail/example.com/#public/News/#msgs/00000005.eml" in picked(
        domain="example.com")


def test_masks_pick_parts_and_no_selection_takes_everything():
    assert picked(mask="cfg") == ["mailserver.cfg", "users.cfg"]
    assert picked(mask="license,sslcert") == ["license/license.key", "sslcert/server.crt"]
    assert picked() == PATHS
    assert mask_of("store/archive/example.com/a.eml") is None
    assert mask_of("store/spam/bayes.db") == "spam"
    assert parse_mask(" CFG, mail ,cfg") == ("cfg", "mail")
    with pytest.raises(SelectionError, match="unknown part nope"):
        parse_mask("cfg,nope")


def test_bad_selections_are_refused():
    with pytest.raises(SelectionError, match="needs --domain and --user"):
        Selection(folder="INBOX")
    with pytest.raises(SelectionError, match="cannot be combined"):
        Selection(domain="example.com", paths=("mailserver.cfg",))


def test_the_field_tests_are_the_rule_the_catalog_applies_per_value():
    sel = Selection(domain="example.com", user="Jane", folder="INBOX")
    assert sel.domain_matches("Example.COM") and not sel.domain_matches(None)
    assert sel.user_matches("jane") and not sel.user_matches(None)
    assert sel.folder_matches("INBOX/Projects") and not sel.folder_matches("INBOXES")
    assert Selection(domain="example.com").user_matches("anyone")


# --- kind letters, sizes ---------------------------------------------------------------------

def test_kind_letters_and_names_have_one_mapping():
    for letter, name in (("F", "full"), ("D", "differential"), ("C", "copy")):
        assert kind_letter(letter) == kind_letter(name) == kind_letter(name.upper()) == letter
        assert kind_name(letter) == kind_name(letter.lower()) == kind_name(name) == name
    assert kind_letter("weekly") is None and kind_name(None) is None
    assert str(make_set_name("differential", parse_set_name("F20261101T010000Z").time)) == \
        "D20261101T010000Z"
    with pytest.raises(ValueError):
        make_set_name("weekly", parse_set_name("F20261101T010000Z").time)


def test_sizes_read_and_written_one_way():
    assert parse_size("k", "2GiB") == 2 * 1024**3 and parse_size("k", "1.5 GB") == 1_500_000_000
    assert parse_size("k", "0", allow_zero=True) == 0
    with pytest.raises(ConfigError, match="'k'"):
        parse_size("k", "lots")
    assert [human_size(n) for n in (None, 0, 1023, 1024, 1536, 5 * 1024**3, 3 * 1024**5)] == [
        "unknown", "0 bytes", "1023 bytes", "1.0 KiB", "1.5 KiB", "5.0 GiB", "3072.0 TiB"]


# --- progress --------------------------------------------------------------------------------

def test_a_meter_without_a_callback_does_nothing_and_a_throttle_lets_the_last_event_through():
    Meter(None, "restore", 3, 30).add(1, 10, "a")  # no callback, no error, nothing to check
    events = []
    meter = Meter(events.append, "verify", 2, 20, interval=3600)
    meter.add(1, 10, "a")
    meter.add(1, 10, "b")      # within the interval: not sent
    meter.report(force=True)   # the last one always goes out
    assert events == [Progress("verify", 1, 2, 10, 20, "a"), Progress("verify", 2, 2, 20, 20, "")]
    throttle = Throttle(3600)
    assert [throttle.ready(), throttle.ready(), throttle.ready(force=True)] == [True, False, True]


# --- config ----------------------------------------------------------------------------------

def test_config_keys_are_validated_by_name():
    cfg = validate({"keep": 3, "volume_size": "1MiB", "timezone": "Europe/Prague",
                    "schedule": [{"days": "mon,wed", "time": "1:30", "kind": "d"}],
                    "notify": {"to": "admin@example.com", "security": "starttls"}})
    assert (cfg.keep, cfg.volume_size, cfg.timezone) == (3, 1024**2, "Europe/Prague")
    assert cfg.schedule[0].days == ("mon", "wed") and cfg.schedule[0].time == "01:30"
    assert cfg.schedule[0].kind == "differential" and cfg.notify.port == 587
    for values, key in (({"keep": 0}, "keep"), ({"timezone": "Mars/Olympus"}, "timezone"),
                        ({"schedule": [{"time": "25:00", "kind": "full"}]}, "schedule[1].time"),
                        ({"notify": {"password": "x"}}, "notify.password"),
                        ({"kep": 3}, "kep")):
        with pytest.raises(ConfigError) as e:
            validate(values)
        assert e.value.key == key
    assert validate({}, Config(keep=5)).keep == 5
