"""Mapping files ops write that load but cannot work: named at load with the key and fix."""
from __future__ import annotations

import pytest

from .helpers import LEAD, problems


@pytest.mark.parametrize("name", ["today", "now", "quarter_end", "null", "true", "false", "inf", "nan"])
def test_an_extra_attribute_named_like_a_word_of_the_rule_language_is_refused(tmp_path, name):
    """A rule writing `today == "x"` means the date, `null` means no value: an attribute of that
    name could never be used, and nothing said so."""
    found = problems(tmp_path, LEAD + f'\n[lead.extra]\n{name} = {{ field = "Description", type = "string" }}\n')
    [problem] = [p for p in found if p.key == f"lead.extra.{name}"]
    assert problem.line and "rule" in problem.message and problem.fix, problem



def test_a_lead_extra_named_score_is_refused_the_learner_writes_that_name(tmp_path):
    """A marketing score mapped as `score` would be overwritten by the predictive learner's
    lead score whenever a rule learns, and rules reading it would change meaning unseen."""
    found = problems(tmp_path, LEAD + '\n[lead.extra]\nscore = { field = "Description", type = "float" }\n')
    [problem] = [p for p in found if p.key == "lead.extra.score"]
    assert "learner" in problem.message and "marketing_score" in problem.fix, problem
