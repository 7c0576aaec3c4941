"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, String, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out.

    SQLite drops time zones and PostgreSQL converts them to the session's zone; storing
    naive UTC and re-attaching UTC on the way out makes comparisons exact on both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the state store; pass an aware one")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)

    # SQLite stores datetimes as text. Its generic processors build that text from a dict
    # and parse it back with a regex, per value; a burst's inserts bind several datetimes
    # per row, so here the same text is written and read by datetime's own C methods.
    # (tests/jobs/test_state_types.py holds the text to SQLAlchemy's, byte for byte.)
    def bind_processor(self, dialect):  # type: ignore[override]
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} given to the state store; pass an aware one")
            return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect, coltype):  # type: ignore[override]
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        utc = timezone.utc

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            return datetime.fromisoformat(value).replace(tzinfo=utc)

        return process


def _no_nul(value: str | None) -> str | None:
    # PostgreSQL's text refuses a NUL byte ("text fields cannot contain NUL"): one in a
    # partner's decline reason failed the whole job at every run. SQLite takes it; the
    # same replacement on both keeps what is read back the same.
    return value.replace("\x00", "\ufffd") if value and "\x00" in value else value


class OrgString(TypeDecorator):
    """A String column holding text typed in the org (a reason, a Lead Status) or built from
    it (an error message): stored with any NUL character as U+FFFD."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return _no_nul(value)


class OrgText(OrgString):
    """OrgString without a length."""

    impl = Text
    cache_ok = True
