"""`dry-run` and `explain` with a rules file naming queues the org lacks. A start whose
rules passed the full check before routes past them (a pool rule passes its leads on, a
fallback escalates, an escalation is held) with a `queue_missing` warning; before, the
previews refused the same rules (exit 2, "unknown queue"), so ops could not see what the
running connector was doing. Now they show it, with the same warning naming the queue and
the fix; rules that never passed the check (a file just written) are still refused."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from jobs.cli import main
from tests.jobs.kestrel_org import kestrel_fixture

from .test_queue_missing_start_e2e import ESCALATIONS, POOL

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)


def _run(args: list[str], capfd) -> tuple[int, str, str]:
    capfd.readouterr()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            code = main(args)
        except SystemExit as stopped:
            code = stopped.code
    return code, buf.getvalue(), capfd.readouterr().err


def _warned(err: str) -> dict[str, str]:
    """The queues a `queue_missing` warning names, each with its fix (JSON log lines or plain words)."""
    found = {}
    for line in err.splitlines():
        if line.startswith("{"):
            e = json.loads(line)
            if e.get("event") == "queue_missing":
                found[e["queue"]] = e.get("fix", "")
        elif "queue_missing" in line:
            for q in (POOL, ESCALATIONS):
                if q in line:
                    found[q] = line
    return found


def test_previews_show_what_a_start_does_past_queues_gone_from_the_org(kestrel, capfd):
    k = kestrel
    k.once(init=True)  # these rules pass the full check: their queues are in the org
    k.org.delete("Group", k.queues[POOL], as_user=k.admin)
    k.org.delete("Group", k.queues[ESCALATIONS], as_user=k.admin)
    japan = k.new_lead("Osaka Optics", "JP")

    code, out, err = _run(["dry-run", "--config", str(k.config), "--format", "json"], capfd)
    assert code == 0, err
    rows = {r["lead_id"]: r for r in json.loads(out)}
    # as the start routes it: the pool rule passes it on, its escalation held
    assert rows[japan]["outcome"] == "unroutable", rows[japan]
    assert f"pool {POOL} is not in the org" in rows[japan]["reason"], rows[japan]
    assert f"Escalation held: queue {ESCALATIONS}" in rows[japan]["reason"], rows[japan]
    said = _warned(err)
    assert set(said) == {POOL, ESCALATIONS}, err
    assert "Setup > Queues" in said[POOL], said

    code, out, err = _run(["explain", japan, "--config", str(k.config), "--json"], capfd)
    assert code == 0, err
    now = json.loads(out)["now"]
    assert now["kind"] == "unroutable" and f"pool {POOL} is not in the org" in now["summary"], now
    assert now["summary"].startswith(f"Escalation held: queue {ESCALATIONS} is not in the org"), now["summary"]
    assert set(_warned(err)) == {POOL, ESCALATIONS}, err
    code, out, err = _run(["explain", japan, "--config", str(k.config)], capfd)
    assert code == 0 and f"Escalation held: queue {ESCALATIONS}" in out, out


def test_previews_still_refuse_rules_that_never_passed_naming_a_queue_the_org_lacks(kestrel, capfd):
    k = kestrel
    k.once(init=True)
    rules = k.config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace(f'"{ESCALATIONS}"', '"Escalations_Typo"'))  # a file just edited
    lead = k.new_lead("Osaka Optics", "JP")
    for args in (["dry-run", "--config", str(k.config)], ["explain", lead, "--config", str(k.config)]):
        code, _, err = _run(args, capfd)
        assert code == 2, err
        assert "Escalations_Typo" in err and ESCALATIONS in err, err
