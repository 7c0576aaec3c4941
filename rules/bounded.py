"""Limits that keep loading and evaluating rules bounded, whatever a file or a lead holds.

Regular expressions (`=~`, `=~~`, `!~`, `!~~`) run on RE2 (google-re2), not Python's
`re`. Python's backtracking engine takes exponential time on patterns like `(a+)+$`
against text anyone can type into a web form (`'a' * 30 + '!'` hung `validate` and
`once` for minutes); RE2 matches in time linear in the text, always. We chose RE2 over
a per-decision time limit (Python cannot interrupt a running `re` match short of a
process per decision) and over refusing a class of patterns (no reliable test exists
for "this pattern backtracks"). The price: RE2 has no backreferences (`\\1`) and no
lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`); such a pattern is refused when the rule file
is loaded, with the rule named and the way to rewrite it.

Also bounded here: how deeply a condition may nest (2,000 chained `and`s overflowed
the parser's recursion) and how large a rule file may be.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import re2
from rule_engine import errors as re_errors
from rule_engine.ast.base import ASTNodeBase
from rule_engine.ast.binary.comparison import FuzzyComparisonExpression
from rule_engine.ast.literal import StringExpression

# A rule file is written by hand: the shipped example is 8 KiB, bench/rules_large.toml
# 19 KiB. 256 KiB (about a thousand rules) loads in about a second.
MAX_RULE_FILE_BYTES = 256 * 1024
# Operators in one condition (`and` `or` `not`, arithmetic and set operators) and how
# deep its brackets nest. A condition longer than this is better split across a gate,
# a rule set's `when` and the rule's own.
MAX_OPERATORS = 64
MAX_NESTING = 16
# RE2's own memory bound for one compiled pattern (its default is 8 MiB).
_RE2_MAX_MEM = 8 << 20

REGEX_FIX = ("RE2 runs every pattern in time linear in the text, so it has no backreferences (\\1) "
             "and no lookaround ((?=…), (?!…), (?<=…), (?<!…)): rewrite the pattern without them, "
             "e.g. match the alternatives explicitly, or compare with ==, `in` or a second condition")
DEPTH_FIX = ("split it: move a shared part to a [[gate]] or the rule set's `when`, "
             "and write `x in [\"a\", \"b\"]` instead of a chain of `x == \"a\" or x == \"b\"`")

_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
# numbers (1e-5, -3) and operators inside comparisons (!=, <=, =~) are not joins
_NOT_JOINS = re.compile(r"\d[eE][-+]|[!<>=]=|=~~?|!~~?")
# words and symbols that join or combine terms; each adds a level to the parsed tree
# (comparisons sit between them and add none)
_OPERATORS = re.compile(r"\b(?:and|or|not)\b|\*\*|<<|>>|//|[-+*/%&|^]")


class TooDeep(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.fix = DEPTH_FIX


def check_depth(text: str) -> None:
    """Refuse a condition too long or too deeply nested to parse safely: counted on the
    text, before the recursive parser sees it, so this check cannot itself recurse."""
    bare = _NOT_JOINS.sub(" ", _STRINGS.sub('""', text))
    operators = len(_OPERATORS.findall(bare))
    if operators > MAX_OPERATORS:
        raise TooDeep(f"condition has {operators} operators (and, or, not, + - * / …); the limit is {MAX_OPERATORS}")
    depth = deepest = 0
    for ch in bare:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    if deepest > MAX_NESTING:
        raise TooDeep(f"condition nests brackets {deepest} deep; the limit is {MAX_NESTING}")


# What RE2 says → the fix for that construct; anything else is a backreference or lookaround.
_REFUSAL_FIXES = (
    ("repetition size", "RE2 repeats a part at most 1000 times, nested counts multiplied ((a{100}){100} is "
                        "10,000): use a smaller count, or + / * for \"one or more\" / \"any number\""),
    ("bad repetition operator", "RE2 has no possessive quantifiers (a++, a*+, a?+) and needs none: write a+, a* or a?"),
    ("(?>", "RE2 has no atomic groups (?>…) and needs none: write the group as (…) or drop the brackets"),
    ("(?#", "RE2 has no (?#…) comments: remove the comment from the pattern"),
    ("pattern too large", "the pattern is too large for RE2: shorten it, or split it into several conditions"),
)
_FLAGS_FIX = "RE2 takes the flags i, m, s and U only, e.g. (?i) for any case: remove the others ((?x), (?u), (?a)…)"


def _refusal_fix(why: str) -> str:
    for needle, fix in _REFUSAL_FIXES:
        if needle in why:
            return fix
    if re.search(r"\(\?[a-zA-Z]", why) and "(?P" not in why:
        return _FLAGS_FIX
    return REGEX_FIX


class RegexRefused(ValueError):
    def __init__(self, pattern: str, why: str):
        super().__init__(f"regular expression {pattern!r} cannot run with a time bound: {why}")
        self.message = str(self)
        self.fix = _refusal_fix(why)


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the refusal is reported to the user, not as a C++ log line
    options.max_mem = _RE2_MAX_MEM
    return options


def compile_regex(pattern: str) -> Any:
    """An RE2 pattern with `match`/`search` like `re`'s; RegexRefused if RE2 cannot run it."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        why = exc.args[0] if exc.args else "not a pattern RE2 accepts"
        raise RegexRefused(pattern, why.decode(errors="replace") if isinstance(why, bytes) else str(why)) from None


def _runtime_regex(pattern: str) -> Any:
    """A pattern taken from a record at evaluation time: refused means "does not match"."""
    try:
        return compile_regex(pattern)
    except RegexRefused:
        raise re_errors.EvaluationError("pattern RE2 cannot run") from None


def _nodes(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        for value in vars(n).values() if hasattr(n, "__dict__") else ():
            if isinstance(value, ASTNodeBase):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, ASTNodeBase))


def bound_regexes(expression: Any) -> None:
    """Make every regex comparison in a checked rule-engine AST run on RE2.

    rule-engine compiled a literal pattern with `re` when it parsed; that compiled form is
    replaced by RE2's (RegexRefused when RE2 cannot run it). A pattern computed at
    evaluation time goes through RE2 too. The generated code hands these nodes to
    rule-engine, so decisions and the reference evaluation use the same bounded engine.
    """
    for node in _nodes(expression):
        if isinstance(node, FuzzyComparisonExpression):
            if isinstance(node.right, StringExpression):
                node._right = compile_regex(node.right.value)
            node._compile_regex = _runtime_regex
