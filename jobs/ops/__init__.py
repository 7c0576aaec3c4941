"""Operator tools: demo, validate, dry-run, explain, report (issue 7)."""
from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction") -> None:
    """Add the ops subcommands to the `leadrouter` parser."""
