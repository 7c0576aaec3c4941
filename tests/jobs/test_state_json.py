"""The state's JSON columns on SQLite are written with rules.serial.to_json's text, byte
for byte, though the encoder is made once (jobs/state/store._JSON_TEXT)."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

from jobs.state.store import _JSON_TEXT
from rules.model import Decision, DecisionKind
from rules.serial import to_json

AT = datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))


def test_the_state_json_text_is_to_jsons():
    decision = Decision(lead_id="00Q000000000001AAA", kind=DecisionKind.OFFER, reason="pool — “ünïcode”\n\t\\",
                        rule="r", partner_id="001000000000001AAA", offered_at=AT, deadline=AT + timedelta(days=3),
                        attempt=2, explanation={"rules": [{"rule": "r", "excluded": {"a": "b"}, "n": 1 / 7,
                                                           "ok": True, "none": None, "set": {"b", "a"}}],
                                                "kind": DecisionKind.POOL, "day": date(2026, 3, 1), 3: "int key"})
    values = [decision, {"Id": "00Q", "Latitude": 40.683371, "n": 513, "big": 10**20, "f": 1e-300, "flag": False,
                         "nan": math.nan, "inf": -math.inf, "empty": "", "list": [1, 2.5, "x", None]},
              {"payload": {"nested": [[], {}]}}, [], {}, "plain text — é", 7, 1.0, None, True]
    for value in values:
        assert _JSON_TEXT(value) == to_json(value), value
