"""Help that helps: every command says in plain words what it does, and takes only the options
it uses."""

import argparse
import re

from workbench.cli import build_parser

TARGET = {"--config", "--store", "--target"}
KEEP = {"--keep", "--keep-copies"}
ENGINE = TARGET | KEEP | {"--volume-size", "--min-free", "--differentials", "--oversize"}
# What each command takes (besides -h): a flag that does nothing for a command is not offered.
OPTIONS = {
    (): {"-v", "--verbose"},
    ("backup",): ENGINE | {"--encrypt", "--scheduled", "-q", "--quiet", "--json"},
    ("sets",): TARGET | {"--json"},
    ("ls",): TARGET | {"--json"},
    ("rotate",): TARGET | KEEP | {"--dry-run"},
    ("restore",): {"--config", "--target", "--to", "-s", "--store", "-c", "--cfgdir", "-d",
                   "--domain", "-u", "--user", "-f", "--folder", "-m", "--mask", "-l", "--list",
                   "--at", "--path", "--message-id", "--dry-run", "--conflict", "--into-live",
                   "--to-user", "--to-folder", "--json", "-q", "--quiet"},
    ("verify",): TARGET | {"--level", "-q", "--quiet", "--json"},
    ("schedule",): set(),
    ("schedule", "list"): {"--config", "--json"},
    ("schedule", "add"): {"--config", "--days", "--time", "--kind", "--description"},
    ("schedule", "edit"): {"--config", "--days", "--time", "--kind", "--description"},
    ("schedule", "remove"): {"--config"},
    ("schedule", "enable"): {"--config"},
    ("schedule", "disable"): {"--config"},
    ("scheduler",): set(),
    ("scheduler", "run"): {"--config"},
    ("status",): {"--config", "--json"},
    ("notify",): set(),
    ("notify", "test"): {"--config"},
    ("log",): set(),
    ("log", "debug"): {"--config"},
    ("catalog",): set(),
    ("catalog", "sets"): TARGET | KEEP | {"--format", "--out"},
    ("catalog", "volumes"): TARGET | {"--set", "--format", "--out"},
    ("catalog", "entries"): TARGET | {"--set", "--format", "--out"},
    ("catalog", "messages"): TARGET | {"--set", "--format", "--out"},
    ("catalog", "export"): {"--target", "--fleet", "--out", "--config", "-q", "--quiet"},
    ("lab",): {"--dir", "--config", "--ip", "--port", "--no-browser"},
    ("report",): set(),
    ("report", "storage"): TARGET | {"--keep", "--min-free", "--out", "--capacity"},
}
MARKUP = re.compile(r"``|:(func|class|mod|meth|attr):|%%|\*\*|`[^`']+`")


def commands(parser, path=()):
    """``(path, parser)`` for the parser and every subcommand below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, path + (name,))


def test_every_command_says_what_it_does_in_plain_words():
    seen = []
    for path, parser in commands(build_parser()):
        seen.append(path)
        text = parser.format_help()
        assert not MARKUP.search(text), (path, MARKUP.search(text).group(0), text)
        assert parser.description and len(parser.description.split()) >= 5, path
        assert parser.description[0].isupper() and parser.description.rstrip().endswith("."), \
            (path, parser.description)
        for action in parser._actions:
            if action.option_strings and action.help is not argparse.SUPPRESS:
                assert action.help, (path, action.option_strings)
    assert sorted(seen) == sorted(OPTIONS)


def test_no_command_takes_a_flag_that_does_nothing_for_it():
    for path, parser in commands(build_parser()):
        flags = {f for a in parser._actions for f in a.option_strings} - {"-h", "--help"}
        assert flags == OPTIONS[path], (path, flags ^ OPTIONS[path])
