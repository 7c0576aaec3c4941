"""Conditions as ops write them into a rule file, at the edges of what rule-engine accepts:
each compiles at load and answers at routing time as rule-engine itself would, never an
exception out of `decide` (which would stop the whole batch of leads)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from rules.expressions import Compiler, schema_of, time_values
from rules.model import Lead

TV = time_values(datetime(2026, 11, 23, 10, tzinfo=timezone.utc))
LEADS = Compiler(schema_of(Lead))


@pytest.mark.parametrize("text", [
    "amount == null or amount < 1e400",  # a number too big for a float is rule-engine's inf
    "amount == null or amount < inf",
    "amount > -inf",
    "amount != nan",
    "amount == nan",
    "employees < 99999999999999999999999999999999999999",
])
@pytest.mark.parametrize("amount", [None, 0.0, 12.5, 1e300])
def test_infinite_and_not_a_number_literals_evaluate_as_rule_engine_does(text, amount):
    cond = LEADS.compile(text)
    lead = Lead(id="00Q1", amount=amount, employees=10)
    assert cond.matches(lead, TV) == cond.matches_interpreted(lead, TV), text


def _refusal(text: str):
    from rules.expressions import ExpressionError

    with pytest.raises(ExpressionError) as err:
        LEADS.compile(text)
    return err.value


@pytest.mark.parametrize("pattern, said, fix", [
    ("(unclosed", "missing ), unterminated subpattern", "bracket"),
    ("[z-a]", "bad character range", "bracket"),
])
def test_a_pattern_that_is_no_regular_expression_says_what_is_wrong_with_it(pattern, said, fix):
    """Was: "invalid regular expression", fix "compare values of the same type (numbers with numbers…)"."""
    err = _refusal(f'company =~ "{pattern}"')
    assert pattern in err.message and said in err.message, err.message
    assert fix in err.fix and "numbers with numbers" not in err.fix, err.fix


@pytest.mark.parametrize("pattern, fix", [
    ("a{1001}", "1000"),
    ("(a{100}){100}", "1000"),
    ("a++", "a+"),
    ("(?x)a b", "(?i)"),
    ("(?>a+)b", "atomic"),
    ("(?<=a)b", "lookaround"),
    (r"(a)\\1", "backreferences"),
])
def test_a_pattern_re2_refuses_gets_the_fix_for_what_it_uses(pattern, fix):
    err = _refusal(f'company =~ "{pattern}"')
    assert "cannot run with a time bound" in err.message
    assert fix in err.fix, err.fix
