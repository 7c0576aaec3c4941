"""One router, two threads: the lead stream's writer asks which pool members a rule
admits (jobs/alerts.py) while the lead job decides with the same router. Its per-place
memos must never hand one thread the other's place."""
from __future__ import annotations

import sys
import threading

from rules import RoutingState

from .conftest import NOW, lead, partner, router_for

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
business_hours = false
offer_hours = 24

[[ruleset]]
name = "All"
  [[ruleset.rule]]
  name = "Covering pool"
  match = { geography = true }
  pool = "Partner_Pool_NA"
"""

AMERICAN = partner("001A", coverage=("US",))
GERMAN = partner("001B", coverage=("DE",))


def _asks(router, the_lead, member, expected, rounds, wrong, start):
    state = RoutingState()
    start.wait()
    for _ in range(rounds):
        said = router.admits(the_lead, "Covering pool", member, state, NOW)
        if said != expected:
            wrong.append((the_lead.country, member, said))


def test_two_threads_asking_about_leads_in_two_countries_each_get_their_own_answer():
    router = router_for(RULES, [AMERICAN, GERMAN])
    in_us, in_de = lead("00QUS", country="US", state="US-CA"), lead("00QDE", country="DE", state=None, postal_code="10115")
    wrong: list = []
    start = threading.Barrier(2)
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible: a race shows within the rounds
    try:
        threads = [threading.Thread(target=_asks, args=(router, in_us, "001A", None, 20_000, wrong, start)),
                   threading.Thread(target=_asks, args=(router, in_de, "001A", "does not cover DE, where the lead is",
                                                        20_000, wrong, start))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert wrong == []
