"""Invocable standard actions that would message people: recorded, never sent.

`customNotificationAction` (bell/push) and `emailSimple` calls land here so tests and
the demo can assert who would have been told what.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Notification:
    action: str  # customNotificationAction | emailSimple
    inputs: dict[str, Any]
    user_id: str
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


class Notifications:
    def __init__(self) -> None:
        self._items: list[Notification] = []
        self._lock = threading.Lock()

    def record(self, n: Notification) -> None:
        with self._lock:
            self._items.append(n)

    def all(self, action: str | None = None) -> list[Notification]:
        with self._lock:
            return [n for n in self._items if action is None or n.action == action]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self.all())
