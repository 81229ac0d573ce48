"""Entry point of the `graphc` console script: parses the command line, runs a subcommand."""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .. import __version__
from . import bench, demo, inspect_graph


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphc",
        description="graphc: define, differentiate, simplify and compile tensor graphs.",
    )
    parser.add_argument("--version", action="version", version=f"graphc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command")
    for module in (demo, inspect_graph, bench):
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run, check=getattr(module, "check", None), command_parser=sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    problem = args.check(args) if args.check is not None else None
    if problem:
        args.command_parser.error(problem)  # argparse's message and exit status 2, as for one bad value
    return args.run(args)
