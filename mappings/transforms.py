"""Transform steps: small functions `step(value, record) -> value | Bad`.

Each is built once per mapping from its options (bad options raise ValueError at load
time, with the reason); per record they only run. Text steps also apply to every
element of a list, so `split` followed by `trim` and `map` reads naturally.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable

from . import geo
from .spec import UNSET, TransformSpec
from .values import Bad, show, to_date, to_datetime, to_float

Step = Callable[[Any, dict], Any]


def _each(fn: Callable[[str], Any]) -> Step:
    """Lift a text function over a value that may be a list; non-text passes through."""

    def step(v: Any, r: dict) -> Any:
        if type(v) is str:
            return fn(v)
        if type(v) is list:
            out = []
            for x in v:
                y = fn(x) if type(x) is str else x
                if type(y) is Bad:
                    if not y.soft:
                        return y
                    y = y.keep
                if y is not None and y != "":
                    out.append(y)
            return out
        return v

    step.text = fn  # type: ignore[attr-defined]  # compile may call fn directly on text
    return step


def _trim(spec: TransformSpec, ctx: Any) -> Step:
    return _each(str.strip)


def _lower(spec: TransformSpec, ctx: Any) -> Step:
    return _each(str.lower)


def _upper(spec: TransformSpec, ctx: Any) -> Step:
    return _each(str.upper)


_WHITESPACE = re.compile(r"\s+")


# "D-80331", "A-1010", "CH-8001": a country's letters before a postal code of digits, as
# European address books write it; the code is the digits (a partner covers DE:80)
_COUNTRY_LETTERS = re.compile(r"^[A-Z]{1,3}-(?=\d+$)")


def _postal(spec: TransformSpec, ctx: Any) -> Step:
    return _each(lambda s: _COUNTRY_LETTERS.sub("", "".join(s.split()).upper()))


def _email_domain(spec: TransformSpec, ctx: Any) -> Step:
    def domain(s: str) -> Any:
        host = s.rpartition("@")[2].strip().lower().rstrip(".")
        if "." not in host or host[0] == "." or len(host.split()) != 1:
            return Bad(f"no e-mail domain in {show(s)}", soft=True)
        return host

    return _each(domain)


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def _domain(spec: TransformSpec, ctx: Any) -> Step:
    def domain(s: str) -> Any:
        host = _SCHEME.sub("", s.strip()).split("/", 1)[0].split("?", 1)[0]
        host = host.rpartition("@")[2].split(":", 1)[0].lower().rstrip(".")
        host = host.removeprefix("www.")
        if "." not in host or _WHITESPACE.search(host):
            return Bad(f"no web domain in {show(s)}", soft=True)
        return host

    return _each(domain)


def _country(spec: TransformSpec, ctx: Any) -> Step:
    def country(s: str) -> Any:
        if not s.strip():
            return None  # blank is missing, not a value we failed to recognise
        code = geo.country_code(s)
        return code if code is not None else Bad(f"{show(s)} is not a recognised country", soft=True)

    return _each(country)


def _subdivision(spec: TransformSpec, ctx: Any) -> Step:
    country_of = ctx.attribute_getter(spec.options.get("country", "country"))

    def step(v: Any, r: dict) -> Any:
        if type(v) is not str:
            return v
        country = country_of(r)
        if type(country) is not str:
            country = None
        code = geo.subdivision_code(v, country)
        if code is None:
            where = f" in {country}" if country else " (no country to look it up in)"
            return Bad(f"unknown state or province {show(v)}{where}", soft=True)
        return code

    return step


def parse_coverage(text: str) -> tuple[tuple[str, ...], list[str]]:
    """Coverage grammar (CONTRACTS §2) → (normalised items, items that made no sense)."""
    good: list[str] = []
    bad: list[str] = []
    for raw in text.split(";"):
        item = raw.strip()
        if not item:
            continue
        norm = _coverage_item(item)
        if norm is None:
            bad.append(item)
        elif norm not in good:
            good.append(norm)
    return tuple(good), bad


def _coverage_item(item: str) -> str | None:
    if item.startswith("@"):
        # territory names stay as written: the rules file's [territories] defines them
        name = item[1:].strip()
        return "@" + name if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_ .&\-]*", name) else None
    compact = _WHITESPACE.sub("", item)
    if ":" in compact:
        country, _, prefix = compact.partition(":")
        code = geo.country_code(country)
        if code is None or not re.fullmatch(r"[A-Za-z0-9\-]+", prefix):
            return None
        return f"{code}:{prefix.upper()}"
    if "-" in compact and len(compact) <= 7:
        return geo.subdivision_code(compact, compact.split("-", 1)[0].upper())
    return geo.country_code(item)


def _meant_item(item: str) -> str:
    """A coverage item not understood, with the code it most likely meant: 'Texas' (US-TX?)."""
    codes = geo.subdivisions_named(item)
    return show(item, 20) + (f" ({' or '.join(codes[:3])}?)" if codes else "")


def _coverage(spec: TransformSpec, ctx: Any) -> Step:
    def step(v: Any, r: dict) -> Any:
        if type(v) is not str:
            return v
        good, bad = parse_coverage(v)
        if bad:
            items = ", ".join(_meant_item(b) for b in bad[:5]) + (" …" if len(bad) > 5 else "")
            return Bad(f"coverage items not understood: {items}", soft=True, keep=list(good))
        return list(good)

    return step


_NUMBER_NOISE = re.compile(r"[\s$€£¥_']")


def _separators(s: str) -> str:
    """A number as people type it, with the decimal mark as a point: "1,234.50" and
    "1.234,50" are both 1234.5, "1.250.000" 1250000, "9,50" 9.5. The last of two different
    marks is the decimal one; a mark repeated is a thousands mark; a lone comma followed by
    three digits is read as thousands ("120,000"), a lone point as a decimal mark ("120.5")."""
    last_comma, last_point = s.rfind(","), s.rfind(".")
    if last_comma >= 0 and last_point >= 0:
        thousands = "." if last_comma > last_point else ","
        s = s.replace(thousands, "")
        return s.replace(",", ".")
    if last_comma >= 0:
        if s.count(",") > 1 or len(s) - last_comma - 1 == 3:
            return s.replace(",", "")
        return s.replace(",", ".")
    if s.count(".") > 1:
        return s.replace(".", "")
    return s


def _number(spec: TransformSpec, ctx: Any) -> Step:
    def number(s: str) -> Any:
        return to_float(_separators(_NUMBER_NOISE.sub("", s)))

    return _each(number)


def _strptime(fmt: str, kind: str) -> None:
    try:
        datetime.strptime(datetime(2024, 5, 1, 10, 0).strftime(fmt), fmt)
    except ValueError as exc:
        raise ValueError(f"{kind} format {fmt!r} cannot be parsed back ({exc}); use strftime codes like %d/%m/%Y") from None


def _date(spec: TransformSpec, ctx: Any) -> Step:
    fmt = spec.options.get("format")
    if fmt is None:
        return _each(to_date)
    if not isinstance(fmt, str):
        raise ValueError("date format must be text like \"%d/%m/%Y\"")
    _strptime(fmt, "date")

    def parse(s: str) -> Any:
        try:
            return datetime.strptime(s.strip(), fmt).date()
        except ValueError:
            return Bad(f"expected a date in the form {fmt}, got {show(s)}")

    return _each(parse)


def _datetime(spec: TransformSpec, ctx: Any) -> Step:
    fmt = spec.options.get("format")
    if fmt is None:
        return _each(to_datetime)
    if not isinstance(fmt, str):
        raise ValueError("datetime format must be text like \"%d/%m/%Y %H:%M\"")
    _strptime(fmt, "datetime")

    def parse(s: str) -> Any:
        try:
            out = datetime.strptime(s.strip(), fmt)
        except ValueError:
            return Bad(f"expected a date-time in the form {fmt}, got {show(s)}")
        return out.replace(tzinfo=timezone.utc) if out.tzinfo is None else out.astimezone(timezone.utc)

    return _each(parse)


def _split(spec: TransformSpec, ctx: Any) -> Step:
    sep = spec.options.get("separator", ";")
    if not isinstance(sep, str) or not sep:
        raise ValueError("split separator must be non-empty text, e.g. \";\" or \",\"")
    return split_step(sep)


def split_step(sep: str) -> Step:
    def step(v: Any, r: dict) -> Any:
        if type(v) is str:
            return [p for p in (x.strip() for x in v.split(sep)) if p]
        return v

    return step


def map_key(value: Any) -> str:
    """How map keys and record values meet: case and surrounding spaces do not matter."""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value).strip().casefold()


def map_step(values: dict[str, Any], default: Any = UNSET) -> Step:
    table = {map_key(k): v for k, v in values.items()}

    def one(x: Any) -> Any:
        key = map_key(x)
        if key in table:
            return table[key]
        return x if default is UNSET else default

    def step(v: Any, r: dict) -> Any:
        if type(v) is list:
            out = []
            for x in v:
                y = one(x)
                if type(y) is list:
                    out.extend(y)  # one org value may stand for several of ours
                elif y is not None and y != "":
                    out.append(y)
            return out
        return one(v)

    return step


def _map(spec: TransformSpec, ctx: Any) -> Step:
    return map_step(spec.options["values"], spec.options.get("default", UNSET))


BUILDERS: dict[str, Callable[[TransformSpec, Any], Step]] = {
    "trim": _trim, "lower": _lower, "upper": _upper, "postal": _postal,
    "email_domain": _email_domain, "domain": _domain, "country": _country,
    "subdivision": _subdivision, "coverage": _coverage, "number": _number,
    "split": _split, "map": _map, "date": _date, "datetime": _datetime,
}
PURE = frozenset(BUILDERS) - {"subdivision"}  # results depend on the value alone
# worth remembering per raw value: slow lookups over values that repeat a lot
MEMO_WORTHY = frozenset({"country", "coverage", "map", "split"})
