"""A rule file whose sections have the wrong shape — `[[settings]]` for `[settings]`, a
string where a table belongs, a number where a name belongs — is refused at load with
the section, its line and what it should be; never a TypeError/AttributeError traceback."""
from __future__ import annotations

import pytest

from rules import load_rules
from rules.errors import RulesError

RULE = '''
[[ruleset]]
name = "All"

  [[ruleset.rule]]
  name = "Everyone"
  match = { geography = true }
'''


@pytest.mark.parametrize("source, key", [
    ('[[settings]]\nescalation_queue = "Channel_Escalations"\n' + RULE, "settings"),
    ('settings = "Channel_Escalations"\n' + RULE, "settings"),
    ('territories = "EMEA"\n' + RULE, "territories"),
    ('[[territories]]\nEMEA = ["DE"]\n' + RULE, "territories"),
    ("gate = [5]\n" + RULE, "gate[1]"),
    ('gate = ["not do_not_route"]\n' + RULE, "gate[1]"),
    ("ruleset = [{ name = \"All\", rule = [5] }]\n", "ruleset[1].rule[1]"),
    ('[[ruleset]]\nname = 5\n  [[ruleset.rule]]\n  name = "Everyone"\n', "ruleset[1].name"),
    ('[[ruleset]]\nname = "All"\notherwise = 5\n  [[ruleset.rule]]\n  name = "Everyone"\n', "ruleset[1].otherwise"),
    ('[[ruleset]]\nname = "All"\nrule = "Everyone"\n', "ruleset[1].rule"),
])
def test_a_section_of_the_wrong_shape_is_named_with_its_line(source, key):
    with pytest.raises(RulesError) as err:
        load_rules(text=source, path="rules.toml", queue_names=["Channel_Escalations"])
    hits = [p for p in err.value.problems if p.key == key and p.severity == "error"]
    assert hits, f"no error at {key}:\n{err.value}"
    assert hits[0].line, hits[0]
