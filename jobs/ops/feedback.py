"""`leadrouter feedback`: what partners' rejection reasons changed (jobs/feedback.py), and
its undo for one partner — the command, kept apart from the routing side it reports on."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

from jobs.feedback import NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY, RATING_FIELD, gather, ratings, reset

_AREA = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "feedback", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="what partners' feedback changed (throttled capacity, excluded industries, areas stopped, coverage to "
             "review, their rating of lead quality); reset one partner's",
        epilog="examples:\n  leadrouter feedback\n  leadrouter feedback --json\n"
               "  leadrouter feedback reset 0015g00000ABCDEAAA   # reviewed: its feedback counts afresh\n"
               "  leadrouter feedback reset 0015g00000ABCDEAAA --area US-CA   # only its 'Out of territory' there")
    p.add_argument("--config", default=os.environ.get("LEADROUTER_CONFIG", "leadrouter.toml"),
                   help="the TOML config (default: $LEADROUTER_CONFIG or leadrouter.toml)")
    p.add_argument("action", nargs="?", choices=("list", "reset"), default="list")
    p.add_argument("partner_id", nargs="?", help="the partner Account id (reset)")
    p.add_argument("--area", help="reset: only the partner's 'Out of territory' declines in this area "
                                   "(a country, US, or a state, US-CA — as `leadrouter feedback` lists it)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from jobs.commands import _connector
    from jobs.commands import _load as load_config_or_exit

    if args.action == "reset" and not args.partner_id:
        print("leadrouter feedback reset: name the partner Account id, e.g. leadrouter feedback reset 0015g00000ABCDEAAA",
              file=sys.stderr)
        return 2
    area = (args.area or "").strip().upper() or None
    if area is not None and (args.action != "reset" or not _AREA.match(area)):
        print(f"leadrouter feedback: --area {args.area!r}: " + (
            "only with reset" if args.action != "reset" else "write a country (US) or a state (US-CA)"), file=sys.stderr)
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
            reset(conn, args.partner_id, now, area)
        if area:
            print(f"{partners[args.partner_id].name}: 'Out of territory' declines in {area} before {now.isoformat()} "
                  "no longer count (offered that area again from the next routing build)")
        else:
            print(f"{partners[args.partner_id].name}: feedback before {now.isoformat()} no longer counts "
                  "(capacity, industries and areas back at the next routing build)")
        return 0
    routing = cx.routing()
    rated = ratings(cx.client, now)
    with cx.store.connect() as conn:
        adj = gather(conn, routing.partners, cx.mappings.lead_converter(), now, rated)
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
    for a in data.get("stopped", ()):
        lines.append(f"stopped   {a['partner']}: no {a['area']} leads ({a['declines']} '{OUT_OF_TERRITORY}' declines)")
    for c in data["out_of_territory"]:
        lines.append(f"coverage  {c['partner']}: {c['declines']} '{OUT_OF_TERRITORY}' declines in "
                     f"{c.get('area') or c['country']} — {c['fix']}")
    quality = [f"rating    {q['partner']}: rates its leads {q['average_rating']:.1f} of 5 on average "
               f"({q['ratings']} rated, last 90 days)" for q in data.get("lead_quality", ())]
    if not lines and not quality:
        text = "no adjustment from partner feedback in force"
    else:
        text = "\n".join(lines + quality + (["undo one partner's: leadrouter feedback reset PARTNER_ID"] if lines else []))
    if data.get("ratings_read") is False and "lead_quality" in data:
        text += f"\n(partners' ratings not read: the org has no readable Lead.{RATING_FIELD})"
    return text
