"""`leadrouter backtest` and `leadrouter feedback` from the command line. Backtest: after a run, the shipped rules and a
proposal side by side, as a table and as JSON (issue 17, item 4)."""
from __future__ import annotations

import json
import time

import pytest

from jobs.cli import main


def test_backtest_compares_the_shipped_rules_with_a_proposal_after_a_run(workdir, capsys):
    config = str(workdir / "leadrouter.toml")
    rules = workdir / "rules.toml"
    assert main(["backtest", "--config", config, "--rules", str(rules)]) == 4  # no run yet: no state, as status
    assert "nothing to replay" in capsys.readouterr().err
    time.sleep(1.1)  # SOQL reads whole seconds: let the seeding's second end before the run
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    proposal = workdir / "proposal.toml"
    proposal.write_text(rules.read_text().replace('distribute = "least_loaded"', 'distribute = "predictive"'))
    assert main(["backtest", "--config", config, "--rules", str(rules), "--rules", str(proposal), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["leads"] > 0 and set(result["rule_files"]) == {str(rules), str(proposal)}
    assert all(r["offered"] + r["pooled"] > 0 for r in result["rule_files"].values())
    assert main(["backtest", "--config", config, "--rules", str(rules), "--rules", str(proposal)]) == 0
    table = capsys.readouterr().out
    assert "as routed" in table and "proposal.toml" in table and "Gini of offers" in table


def test_feedback_lists_what_partners_answers_changed_and_resets_one(workdir, seeded_org, capsys):
    config = str(workdir / "leadrouter.toml")
    time.sleep(1.1)
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    assert main(["feedback", "--config", config, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"count", "throttled", "excluded", "excluded_products", "stopped", "out_of_territory", "lead_quality",
                         "org_lead_quality", "ratings_credited_to_holder", "ratings_read", "reviewed"}
    assert data["ratings_read"] is True  # the sandbox has Lead_Quality_Rating__c (salesforce/)
    assert main(["feedback", "--config", config]) == 0
    assert capsys.readouterr().out.strip()
    partner = next(a["Id"] for a in seeded_org.org.records("Account") if a.get("IsPartner"))
    assert main(["feedback", "reset", partner, "--config", config]) == 0
    assert "no longer counts" in capsys.readouterr().out
    assert main(["feedback", "--config", config, "--json"]) == 0
    assert partner in json.loads(capsys.readouterr().out)["reviewed"]
    assert main(["feedback", "reset", "001000000000000AAA", "--config", config]) == 2
    assert "not a partner" in capsys.readouterr().err


@pytest.mark.parametrize("area, said_meant", [("XX-YY", "no country code"), ("UK", "did you mean GB?"),
                                              ("CA-Q", "no state of CA")])
def test_an_area_reset_of_no_area_is_refused_and_writes_nothing(workdir, seeded_org, capsys, area, said_meant):
    """`--area XX-YY` (or UK for GB, CA-Q for CA-QC) was taken and written on the Account as
    a review, and said 'declines in XX-YY no longer count' — of declines there never were."""
    config = str(workdir / "leadrouter.toml")
    time.sleep(1.1)
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    partner = next(a["Id"] for a in seeded_org.org.records("Account") if a.get("IsPartner"))
    before = seeded_org.org.get("Account", partner).get("Routing_Feedback_Review__c")
    assert main(["feedback", "reset", partner, "--area", area, "--config", config]) == 2
    said = capsys.readouterr()
    assert area in said.err and said_meant in said.err and "nothing was written" in said.err, said
    assert "no longer count" not in said.out, said
    assert seeded_org.org.get("Account", partner).get("Routing_Feedback_Review__c") == before
