"""The command line: sets, ls, backup and restore output, and one exit code per error class."""

import json
import os

import workbench.errors as errors
from workbench.cli import main

from helpers import make_store, snapshot, store_snapshot


def test_each_error_class_has_its_own_exit_code():
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.WorkbenchError)]
    codes = [c.exit_code for c in classes]
    assert len(codes) == len(set(codes)) and 0 not in codes and 1 not in codes
    # 3 is the outcome of a backup that finished with warnings (files it could not read)
    assert errors.FinishedWithWarnings.exit_code == 3
    assert errors.MemberTooLarge in classes and errors.MemberTooLarge.exit_code == 26


def test_backup_sets_ls_restore(tmp_path, capsys):
    store = make_store(tmp_path / "server", messages=80, seed=6)
    bk = str(tmp_path / "bk")
    common = ["--store", store, "--target", bk, "--min-free", "0", "-q"]
    assert main(["backup", "full", *common, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["kind"] == "F" and result["files"] == len(store_snapshot(store))
    assert main(["backup", "differential", *common]) == 0
    assert "differential backup" in capsys.readouterr().out
    assert main(["sets", "--target", bk, "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in records] == ["F", "D"]
    assert set(records[0]) >= {"name", "kind", "base", "started", "finished", "status", "files",
                               "bytes_in", "bytes_out", "volumes", "skipped"}
    assert records[1]["base"] == records[0]["name"] and records[1]["status"] == "complete"
    assert records[0]["bytes_out"] == os.path.getsize(os.path.join(bk, records[0]["name"] + ".zip"))
    assert main(["ls", records[1]["name"], "--target", bk, "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {e["path"] for e in listed} == set(store_snapshot(store))
    assert {e["stored_in"] for e in listed} <= {records[0]["name"], records[1]["name"]}
    out = tmp_path / "out"
    assert main(["restore", "--to", str(out), "--target", bk, "-q"]) == 0
    assert snapshot(out) == store_snapshot(store)


def test_unknown_set_and_empty_target(tmp_path, capsys):
    bk = tmp_path / "bk"
    bk.mkdir()
    assert main(["ls", "F20260101T000000Z", "--target", str(bk)]) == errors.SetNotFound.exit_code
    assert main(["restore", "--to", str(tmp_path / "o"), "--target", str(bk)]) \
        == errors.NoCompleteBackup.exit_code
    assert main(["sets", "--target", str(tmp_path / "missing")]) == errors.TargetError.exit_code


def test_each_group_names_the_commands_it_adds():
    # A command builds only its group's parser: cli.COMMANDS must say what each group adds.
    import argparse
    from workbench import cli
    seen = []
    for name, group in zip(cli.COMMANDS, cli.groups()):
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        group.add_commands(sub)
        assert tuple(sub.choices) == cli.COMMANDS[name], group.__name__
        seen += cli.COMMANDS[name]
    assert len(seen) == len(set(seen))
    full = cli.build_parser()
    assert set(full._subparsers._group_actions[0].choices) == set(seen)


def test_a_command_parses_the_same_with_its_group_alone():
    from workbench import cli
    argv = ["-v", "restore", "F20261101T010000Z", "--path", "store/x", "--to", "/tmp/x"]
    assert vars(cli.build_parser("restore").parse_args(argv)) == vars(
        cli.build_parser().parse_args(argv))
