"""`leadrouter feedback`: what partners' rejection reasons changed (jobs/feedback.py), and
its undo for one partner — the command, kept apart from the routing side it reports on."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from jobs.feedback import NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY, gather, reset
from jobs.feedback_account import AREA, REVIEW_FIELD, review_time, save_review
from jobs.performance import lead_partner_field
from jobs.ratings import RATING_FIELD, ratings
from jobs.printable import for_terminal, one_line


def register(sub: Any) -> None:
    p = sub.add_parser(
        "feedback", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="what partners' feedback changed (throttled capacity, excluded industries and products, areas stopped, "
             "coverage to review, their rating of lead quality); reset one partner's",
        epilog="examples:\n  leadrouter feedback\n  leadrouter feedback --json\n"
               "  leadrouter feedback reset 0015g00000ABCDEAAA   # reviewed: its feedback counts afresh\n"
               "  leadrouter feedback reset 0015g00000ABCDEAAA --area US-CA   # only its 'Out of territory' there")
    p.add_argument("--config", default=os.environ.get("LEADROUTER_CONFIG", "leadrouter.toml"),
                   help="the TOML config (default: $LEADROUTER_CONFIG or leadrouter.toml)")
    p.add_argument("action", nargs="?", choices=("list", "reset"), default="list",
                   help="list (default): the adjustments in force; reset: count a partner's feedback afresh")
    p.add_argument("partner_id", nargs="?", help="the partner Account id (reset)")
    p.add_argument("--area", help="reset: only the partner's 'Out of territory' declines in this area "
                                   "(a country, US, or a state, US-CA — as `leadrouter feedback` lists it)")
    p.add_argument("--json", action="store_true", help="the list as one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from jobs.commands import _connector
    from jobs.commands import _load as load_config_or_exit

    if args.action == "reset" and not args.partner_id:
        print("leadrouter feedback reset: name the partner Account id, e.g. leadrouter feedback reset 0015g00000ABCDEAAA",
              file=sys.stderr)
        return 2
    area = (args.area or "").strip().upper() or None
    if area is not None and (args.action != "reset" or not AREA.match(area)):
        print(f"leadrouter feedback: --area {args.area!r}: " + (
            "only with reset" if args.action != "reset" else "write a country (US) or a state (US-CA)"), file=sys.stderr)
        return 2
    unknown = _not_an_area(area) if area else None
    if unknown:  # a mistyped area (UK for GB, CA-Q) would be written on the Account as a review of nothing
        print(f"leadrouter feedback reset: --area {area}: {unknown}; nothing was written", file=sys.stderr)
        return 2
    cx = _connector(load_config_or_exit(args))
    now = cx.clock.now()  # Salesforce's time: the review is compared with the org's answers
    if args.action == "reset":
        return _reset(cx, args.partner_id, review_time(now), area)
    routing = cx.routing()
    with cx.store.connect() as conn:
        rated = ratings(cx.client, now, partner_field=lead_partner_field(cx.mappings), conn=conn)
        adj = gather(conn, routing.partners, cx.mappings.lead_converter(), now, rated)
    data = adj.to_dict({p.id: p.name for p in routing.partners.values()})
    if args.json:
        print(json.dumps(data))
        return 0
    print(for_terminal(render(data)))
    return 0


def _not_an_area(area: str) -> str | None:
    """Why `area` is no area a lead is read into (ISO 3166: US, GB, US-CA, CA-QC), with the one meant."""
    from mappings.geo import country_code, subdivision_code

    country, _, state = area.partition("-")
    code = country_code(country)
    if code is None:
        return f"{country} is no country code (ISO 3166: US, GB, DE…)"
    if code != country:
        return f"{country} is no country code here: did you mean {code + area[len(country):]}?"
    if state and subdivision_code(area, code) != area:
        return f"{area} is no state of {code} (ISO 3166-2, as `leadrouter feedback` lists areas: US-CA, CA-QC)"
    return None


def _reset(cx: Any, partner_id: str, now: Any, area: str | None) -> int:
    """The review goes to the partner's Account (it outlives the state database) and to
    the state (in force at this connector's next routing build even before its next
    partner sync reads the Account back)."""
    from connector.errors import ConnectorError

    partners = cx.routing().partners
    if partner_id not in partners:
        print(f"leadrouter feedback reset: {partner_id!r} is not a partner in the snapshot; "
              "`leadrouter feedback` lists the partners with adjustments", file=sys.stderr)
        return 2
    sobject = cx.mappings.sobject("partner")
    problem = None
    try:
        saved = save_review(cx.client, sobject, partner_id, now, area)
    except ConnectorError as e:
        saved, problem = None, str(e)
    with cx.store.begin() as conn:
        reset(conn, partner_id, now, area)
    name, when = partners[partner_id].name, now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if area:
        print(f"{name}: 'Out of territory' declines in {area} before {when} no longer count "
              "(offered that area again from the next routing build)")
    else:
        print(f"{name}: feedback before {when} no longer counts "
              "(capacity, industries, products and areas back at the next routing build)")
    if saved is not None:
        print(f"saved on its Account ({sobject}.{REVIEW_FIELD}): a lost state database does not bring it back")
        return 0
    if problem is None:
        print(f"note: kept in the state database only — the org has no {sobject}.{REVIEW_FIELD} the "
              "integration user can edit, so a state restored from before now brings the adjustments back; "
              "fix: deploy salesforce/ (the field and the LeadRouter permission sets)", file=sys.stderr)
        return 0
    print(f"leadrouter feedback reset: in force, but not saved on the Account ({problem}); a lost state database "
          "would bring it back — run the reset again once Salesforce accepts the write", file=sys.stderr)
    return 1


def render(data: dict[str, Any]) -> str:
    lines = []
    for t in data["throttled"]:
        lines.append(f"capacity  {t['partner']}: {t['capacity']} of {t['declared']} open leads "
                     f"({t['declines']} '{NO_CAPACITY}' declines; recovers by one per accepted offer)")
    for kind, key in (("industry", "excluded"), ("product", "excluded_products")):
        for e in data.get(key, ()):
            lines.append(f"excluded  {e['partner']}: no {e[kind]} leads ({kind}; {e['declines']} '{NOT_OUR_FIT}' "
                         f"declines, took {e.get('accepted', 0)})")
    for a in data.get("stopped", ()):
        lines.append(f"stopped   {a['partner']}: no {a['area']} leads ({a['declines']} '{OUT_OF_TERRITORY}' declines)")
    for c in data["out_of_territory"]:
        lines.append(f"coverage  {c['partner']}: {c['declines']} '{OUT_OF_TERRITORY}' declines in "
                     f"{c.get('area') or c['country']} — {c['fix']}")
    quality = [f"rating    {q['partner']}: rates its leads {q['average_rating']:.1f} of 5 on average "
               f"({q['ratings']} rated, last 90 days)" for q in data.get("lead_quality", ())]
    org = data.get("org_lead_quality")
    if org:  # set by the org's own people (internal users): no partner's
        quality.append(f"rating    the org's own people rate leads {org['average_rating']:.1f} of 5 on average "
                       f"({org['ratings']} rated, last 90 days; no partner's)")
    if not lines and not quality:
        text = "no adjustment from partner feedback in force"
    else:
        # a partner's name on its own line each time: a line break in an Account Name cannot add one
        text = "\n".join(one_line(line) for line in
                         lines + quality + (["undo one partner's: leadrouter feedback reset PARTNER_ID"] if lines else []))
    if data.get("ratings_read") is False and "lead_quality" in data:
        text += f"\n(partners' ratings not read: the org has no readable Lead.{RATING_FIELD})"
    held = data.get("ratings_credited_to_holder") or 0
    if held:
        text += "\n" + credited_to_holder(held)
    return text


def credited_to_holder(n: int) -> str:
    """The note for ratings LeadHistory did not say who set (jobs/ratings.py)."""
    return (f"({n} rating{'s' if n != 1 else ''} credited to the partner holding the lead, which may not be the one "
            f"whose rep rated it: LeadHistory does not say who set Lead.{RATING_FIELD} — turn on its field history)")
