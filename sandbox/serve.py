"""`leadrouter sandbox serve` — filled in by the sandbox work (issue 2)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data", required=True)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("sandbox serve is not built yet")
