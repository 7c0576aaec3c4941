"""A state lost mid-lifecycle: what partner reps and admins see goes on as if it had been
kept. An offer's reminder, and an accepted lead's follow-up, go out once per offer —
whether the state that sent them survived or was rebuilt from the org."""
from __future__ import annotations

from collections import Counter

import pytest

from sandbox.simulator import Profile

from .conftest import is_reminder

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALWAYS_ACCEPT = Profile("always accept", accept=1.0, reject=0.0, delay_hours=(0.1, 0.2))


def sent(org, kind: str) -> Counter:
    return Counter(n.inputs["targetId"] for n in org.notifications.all("customNotificationAction")
                   if is_reminder(n.inputs["title"], kind))


def test_a_reminder_sent_before_the_state_was_lost_is_not_sent_again(org, make_loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)
    loop.cycle()
    offered = {i for i, o in loop.live().items() if o["kind"] == "offer"}
    loop.cycle(hours=21)  # 3 hours before the 24-hour deadline: each offer's reminder goes out
    reminded = sent(org, "reminder")
    assert set(reminded) == offered and set(reminded.values()) == {1}

    fresh = make_loop(org, name="fresh")  # the state file is gone
    fresh.cycle(hours=1, partners_act=False)
    assert set(fresh.live()) >= offered, "the offers were rebuilt, not abandoned"
    assert sent(org, "reminder") == reminded, "no rep is reminded twice of one offer"


def test_a_follow_up_sent_before_the_state_was_lost_is_not_sent_again(org, make_loop):
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop = make_loop(org)
    loop.cycle()
    loop.cycle(hours=1)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(hours=3 * 24)
    loop.cycle(hours=1)
    followed = sent(org, "followup")
    assert followed and set(followed.values()) == {1}

    fresh = make_loop(org, name="fresh")
    fresh.cycle(hours=1, partners_act=False)
    assert sent(org, "followup") == followed, "no rep is reminded twice to work one accepted lead"


def test_where_the_org_keeps_no_reminder_task_a_due_reminder_is_taken_as_sent_and_status_says_so(
        org, make_loop, tmp_path):
    """With reminder_tasks = "off" the org holds no trace of a reminder sent: the rebuild
    errs on the side of no second reminder, and says what it could not rebuild in the log
    and in `leadrouter status`."""
    import structlog

    from .conftest import leadrouter
    from .test_crash_e2e import write_config

    settings = {"notifications": {"mode": "custom", "reminder_tasks": "off"}}
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org, settings=settings, name="lost")
    loop.cycle()
    loop.cycle(hours=21)
    reminded = sent(org, "reminder")
    assert reminded and not list(org.org.records("Task"))

    fresh = make_loop(org, settings=settings, name="state")  # the file `leadrouter status` reads
    with structlog.testing.capture_logs() as logs:
        fresh.cycle(hours=1, partners_act=False)
    assert sent(org, "reminder") == reminded
    [said] = [e for e in logs if e["event"] == "state_not_rebuilt_exactly"]
    assert said["log_level"] == "warning" and "taken as sent" in said["reminders_assumed_sent"]

    fresh.cx.store.dispose()
    proc = leadrouter(write_config(tmp_path, org), "status")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    text = " ".join(out.split())
    assert "Rebuilt from the org" in text and f"{len(reminded)} offer reminder(s)" in text, out
