"""Every problem `leadrouter validate` names in a rule file has its what, where and fix
apart — the message says what is wrong, the file, line and key where, the fix what to
write — in the text output and as keys of --json. Several gave no fix, or hid it in the
message ("expected radii in km like [100, 250]", "a gate check needs `when` … and
`reason` …", "expected text like \\"Company: missing\\"")."""
from __future__ import annotations

import ast
import json
from pathlib import Path

from jobs.cli import main

ROOT = Path(__file__).resolve().parents[2]

BROKEN = '''
[settings]
max_attempts = 0
weekdays = [0, 9]
max_open_offers = nan
escalation_queue = 5

[settings.certifications_for_products]
Analytics = 5

[territories]
Benelux = ["BE", "NL"]
Nordics = 5

[[gate]]
when = 'company != null'

[[gate]]
when = 'company != null'
reason = ""

[[ruleset]]
name = "All"
otherwise = 5

  [[ruleset.rule]]
  name = ""
  when = 5
  partners = 'tier == "Gold"'
  match = { geography = true, products = "some", within_km = -1, tiers = 5 }
  weight_by = "tiers"
  distribute = "weighted"

  [[ruleset.rule]]
  name = "Benelux pool"
  pool = { Benelux = 5 }
  match = { within_km = 100, widen_km = [50, 0] }
  distribute = "nearest"

  [[ruleset.rule]]
  name = "A name far longer than the eighty characters Routing_Rule__c holds on the Lead, surely"
  match = "geography"

[[ruleset]]
name = 7
'''


def test_every_rule_file_error_validate_names_has_its_where_and_a_fix_apart_from_the_message(tmp_path, capsys):
    rules = tmp_path / "rules.toml"
    rules.write_text(BROKEN)
    config = tmp_path / "leadrouter.toml"
    config.write_text(f'[state]\nurl = "sqlite:///{tmp_path}/state.sqlite"\n[routing]\nrules = "{rules}"\n')
    assert main(["validate", "--offline", "--json", "--config", str(config)]) == 1
    found = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["file"] == str(rules)]
    errors = [f for f in found if f["severity"] == "error"]
    assert len(errors) >= 18, "\n".join(map(str, errors))
    for f in found:
        assert f.get("fix") and f.get("line") and f.get("key"), f
        assert "fix:" not in f["message"] and f["fix"] not in f["message"], f
        assert " like " not in f["message"] and "e.g." not in f["message"], f  # an example is a fix
    keys = {f["key"] for f in errors}
    assert {"settings.max_attempts", "settings.weekdays", "gate[1]", "gate[2].reason", "ruleset[1].rule[2].match.widen_km",
            "ruleset[1].rule[1].match.within_km", "ruleset[1].rule[1].weight_by", "ruleset[1].otherwise",
            "ruleset[2].name"} <= keys, sorted(keys)

    assert main(["validate", "--offline", "--config", str(config)]) == 1
    text = capsys.readouterr().out
    blocks = [b for b in text.split("\nERROR   ")[1:] if b.startswith(str(rules))]
    assert blocks and all("\n        fix: " in b for b in blocks), text


def test_every_error_the_rule_loader_raises_is_given_a_fix():
    """Held in the code too: each self.error(…) / self.warn(…) of rules/book.py passes a fix."""
    tree = ast.parse((ROOT / "rules" / "book.py").read_text())
    bare = [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("error", "warn")
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"
            and (len(node.args) < 3 or isinstance(node.args[2], ast.Constant) and node.args[2].value is None)]
    assert not bare, f"rules/book.py lines {bare} report a problem without its fix"
