"""Command line of ``python -m workbench.samples``."""

from __future__ import annotations

import argparse
import re
import sys
import time

from .generator import build_sample, generate
from .mutation import mutate
from .profiles import PROFILES


DESCRIPTION = "Synthetic Kerio Connect server directories for tests, benchmarks and demos."


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1000
    return str(size)


def _size_range(text: str) -> tuple[int, int]:
    """``"20M-200M"`` -> ``(20_000_000, 200_000_000)``; K, M and G are powers of 1000."""
    found = re.fullmatch(r"(\d+)([KMG]?)-(\d+)([KMG]?)", text.strip(), re.I)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size range such as 20M-200M")
    scale = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}
    low, high = (int(found.group(i)) * scale[found.group(i + 1).upper()] for i in (1, 3))
    if not 0 < low <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: the smallest size must be above 0 and at most "
                                         "the largest")
    return low, high


def main(argv=None) -> int:
    """Entry point of ``python -m workbench.samples``; prints one summary line."""
    parser = argparse.ArgumentParser(prog="python -m workbench.samples", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="create a synthetic server directory")
    gen.add_argument("dir")
    gen.add_argument("--messages", type=int, default=1000)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--profile", choices=list(PROFILES), default="default",
                     help="what the messages look like (default: %(default)s)")
    gen.add_argument("--large-size", type=_size_range, metavar="MIN-MAX",
                     help="raw size range of the profile's huge attachments, e.g. 20M-200M")
    mut = commands.add_parser("mutate", help="simulate one day of mail in a server directory")
    mut.add_argument("dir")
    mut.add_argument("--seed", type=int, default=0)
    sample = commands.add_parser("build-sample", help="build the committed sample (data/samples/kerio)")
    sample.add_argument("dir")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.command == "mutate":
        result = mutate(args.dir, seed=args.seed)
        eml = sum(1 for rel in result["rewritten"] if rel.endswith(".eml"))
        print(f"mutated {args.dir}: {eml} messages rewritten, {len(result['added'])} added, "
              f"{len(result['deleted'])} deleted, {len(result['rewritten']) - eml} folder files "
              f"updated in {time.perf_counter() - started:.1f} s")
        return 0
    try:
        if args.command == "generate":
            summary = generate(args.dir, args.messages, seed=args.seed, profile=args.profile,
                               large_size=args.large_size)
        else:
            summary = build_sample(args.dir)
    except FileExistsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    style = "" if summary["profile"] == "default" else f" ({summary['profile']})"
    print(f"generated {args.dir}{style}: {summary['messages']} messages ({summary['with_attachments']} with "
          f"attachments), {summary['users']} users in {summary['domains']} domains, {summary['files']} "
          f"files, {_human(summary['bytes'])} in {time.perf_counter() - started:.1f} s")
    return 0

