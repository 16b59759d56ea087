"""Command line of ``python -m workbench.samples``."""

from __future__ import annotations

import argparse
import time

from .generator import build_sample, generate
from .mutation import mutate


DESCRIPTION = "Synthetic Kerio Connect server directories for tests, benchmarks and demos."


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1000
    return str(size)


def main(argv=None) -> int:
    """Entry point of ``python -m workbench.samples``; prints one summary line."""
    parser = argparse.ArgumentParser(prog="python -m workbench.samples", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="create a synthetic server directory")
    gen.add_argument("dir")
    gen.add_argument("--messages", type=int, default=1000)
    gen.add_argument("--seed", type=int, default=0)
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
    if args.command == "generate":
        summary = generate(args.dir, args.messages, seed=args.seed)
    else:
        summary = build_sample(args.dir)
    print(f"generated {args.dir}: {summary['messages']} messages ({summary['with_attachments']} with "
          f"attachments), {summary['users']} users in {summary['domains']} domains, {summary['files']} "
          f"files, {_human(summary['bytes'])} in {time.perf_counter() - started:.1f} s")
    return 0

