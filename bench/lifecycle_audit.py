#!/usr/bin/env python
"""After a demo run, what an admin reading the org finds: the lifecycle's three promises.

    python bench/lifecycle_audit.py --partners 50 --leads 500
    python bench/lifecycle_audit.py --partners 50 --leads 1000 --faults flaky [--data DIR] [--days 2]
    python bench/lifecycle_audit.py --partners 50 --leads 500 --people 0.003   # internal users act too

Runs `leadrouter demo` in-process (jobs/ops/demo.py: seeded sandbox org over HTTPS, the
partner simulator, the real jobs on simulated days) keeping its org, then serves that
org again and reads it the way an admin would — SOQL on Lead, LeadHistory, User,
Account, Group and GroupMember through simple-salesforce, nothing from the connector's
state — and checks (tests/reliability/invariants_lifecycle.py):

- barred_partner_got_lead_back: a partner (or pool) whose offer of a lead ended
  (rejected or lapsed) holds that lead again;
- owner_partner_inconsistent: a rep of one partner owns a lead tagged with another
  partner, or a queue / internal user owns a lead tagged with a partner;
- takeover_not_released: a person took a lead over (or ticked Do_Not_Route__c) and
  the Lead does not say Released.

Prints one JSON object: {"violations": {check: count}, "examples": {...}, "checked":
{leads touched, offers ended, hand-downs, ...}, "demo": {...}, "seconds": …}. All
counts should be 0; the exit status is 1 when one is not.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

EXAMPLES = 3


def run_demo(data: Path, partners: int, leads: int, faults: str | None, days: float, seed: int,
             people: float = 0.0) -> dict:
    from jobs.ops.demo import DemoOptions, run

    if people:
        # DemoOptions has no say over the partner simulator's `people` (internal users
        # changing owners, ticking Do_Not_Route__c, converting): the sandbox the demo
        # starts builds its simulator through this one factory, so set it there.
        from sandbox.server import Sandbox
        from sandbox.simulator import PartnerSimulator

        Sandbox._make_simulator = lambda self, random_seed: PartnerSimulator(  # type: ignore[method-assign]
            self.org, random_seed=random_seed, people=people)
    return run(DemoOptions(partners=partners, leads=leads, faults=faults, days=days, random_seed=seed, data=data,
                           json=True, report=data / "report.html"))


def read_org(org_dir: Path):
    """Serve the kept org again (no seed: no simulator, no faults) and read it over SOQL."""
    import requests
    import sandbox
    from simple_salesforce import Salesforce

    from tests.reliability.invariants_lifecycle import OrgView

    sb = sandbox.start(org_dir, autosave=None)
    try:
        c = sb.connection
        session = requests.Session()
        session.verify = c["ca_file"]
        session.trust_env = False  # loopback only, never through a proxy
        token = session.post(c["login_url"] + "/services/oauth2/token", timeout=30, data={
            "grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]})
        token.raise_for_status()
        sf = Salesforce(instance_url=c["instance_url"], session_id=token.json()["access_token"], session=session,
                        version=c["api_version"])
        try:
            return OrgView.from_soql(sf.query_all, c["username"])
        finally:
            session.close()
    finally:
        sb.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partners", type=int, default=50)
    ap.add_argument("--leads", type=int, default=500)
    ap.add_argument("--faults", default=None, help="the sandbox's fault profile, e.g. flaky")
    ap.add_argument("--days", type=float, default=2.0, help="simulated days the demo runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--people", type=float, default=0.0,
                    help="chance per lead and step that an internal user touches an open lead (takes it over, "
                         "ticks Do_Not_Route__c, converts it); 0: partners only, as `leadrouter demo`")
    ap.add_argument("--data", type=Path, default=None, help="keep the demo's org and state here (default: a temp dir)")
    args = ap.parse_args(argv)

    from tests.reliability.invariants_lifecycle import audit, coverage

    keep = args.data is not None
    data = args.data.resolve() if keep else Path(tempfile.mkdtemp(prefix="lifecycle-audit-"))
    began = time.monotonic()
    try:
        print(f"demo: {args.partners} partners, {args.leads} leads, faults {args.faults or 'none'}, "
              f"{args.days:g} days (data in {data})", file=sys.stderr, flush=True)
        summary = run_demo(data, args.partners, args.leads, args.faults, args.days, args.seed, args.people)
        demo_s = time.monotonic() - began
        print("reading the kept org over SOQL", file=sys.stderr, flush=True)
        view = read_org(data / "org")
        found = audit(view)
        result = {
            "config": {"partners": args.partners, "leads": args.leads, "faults": args.faults, "days": args.days,
                       "seed": args.seed, "people": args.people},
            "violations": {name: len(v) for name, v in found.items()},
            "examples": {name: [str(x) for x in v[:EXAMPLES]] for name, v in found.items() if v},
            "checked": coverage(view),
            "demo": {k: summary.get(k) for k in ("leads", "offered", "accepted", "rejected", "lapsed",
                                                 "redistributed", "escalated", "unroutable", "job_errors")},
            "demo_s": round(demo_s, 1),
            "seconds": round(time.monotonic() - began, 1),
            "data": str(data) if keep else None,
        }
    finally:
        if not keep:
            shutil.rmtree(data, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 1 if any(result["violations"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
