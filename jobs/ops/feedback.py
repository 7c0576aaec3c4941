"""`leadrouter feedback`: what partners' rejection reasons changed (jobs/feedback.py), and
its undo for one partner — the command, kept apart from the routing side it reports on."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from jobs.feedback import NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY, gather, reset


def register(sub: Any) -> None:
    p = sub.add_parser(
        "feedback", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="what partners' rejection reasons changed (throttled capacity, excluded industries, coverage to "
             "review); reset one partner's",
        epilog="examples:\n  leadrouter feedback\n  leadrouter feedback --json\n"
               "  leadrouter feedback reset 0015g00000ABCDEAAA   # reviewed: its feedback counts afresh")
    p.add_argument("--config", default=os.environ.get("LEADROUTER_CONFIG", "leadrouter.toml"),
                   help="the TOML config (default: $LEADROUTER_CONFIG or leadrouter.toml)")
    p.add_argument("action", nargs="?", choices=("list", "reset"), default="list")
    p.add_argument("partner_id", nargs="?", help="the partner Account id (reset)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from jobs.commands import _connector
    from jobs.commands import _load as load_config_or_exit

    if args.action == "reset" and not args.partner_id:
        print("leadrouter feedback reset: name the partner Account id, e.g. leadrouter feedback reset 0015g00000ABCDEAAA",
              file=sys.stderr)
        return 2
    cx = _connector(load_config_or_exit(args))
    now = cx.clock.now()
    if args.action == "reset":
        partners = cx.routing().partners
        if args.partner_id not in partners:
            print(f"leadrouter feedback reset: {args.partner_id} is not a partner in the snapshot; "
                  "`leadrouter feedback` lists the partners with adjustments", file=sys.stderr)
            return 2
        with cx.store.begin() as conn:
            reset(conn, args.partner_id, now)
        print(f"{partners[args.partner_id].name}: feedback before {now.isoformat()} no longer counts "
              "(capacity and industries back at the next routing build)")
        return 0
    routing = cx.routing()
    with cx.store.connect() as conn:
        adj = gather(conn, routing.partners, cx.mappings.lead_converter(), now)
    data = adj.to_dict({p.id: p.name for p in routing.partners.values()})
    if args.json:
        print(json.dumps(data))
        return 0
    print(render(data))
    return 0


def render(data: dict[str, Any]) -> str:
    lines = []
    for t in data["throttled"]:
        lines.append(f"capacity  {t['partner']}: {t['capacity']} of {t['declared']} open leads "
                     f"({t['declines']} '{NO_CAPACITY}' declines; recovers by one per accepted offer)")
    for e in data["excluded"]:
        lines.append(f"excluded  {e['partner']}: no {e['industry']} leads ({e['declines']} '{NOT_OUR_FIT}' declines)")
    for c in data["out_of_territory"]:
        lines.append(f"coverage  {c['partner']}: {c['declines']} '{OUT_OF_TERRITORY}' declines in {c['country']} — "
                     f"{c['fix']}")
    if not lines:
        return "no adjustment from partner feedback in force"
    return "\n".join(lines + ["undo one partner's: leadrouter feedback reset PARTNER_ID"])
