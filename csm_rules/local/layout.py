"""The local output folder's file names, declared once: the sinks, the stores and the CLI read them here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["OutputLayout"]


@dataclass(frozen=True)
class OutputLayout:
    """Where each local output lives under ``root``.

    Example::

        OutputLayout(Path("csm-out")).events   # csm-out/events.jsonl
    """

    root: Path

    @property
    def health_updates(self) -> Path:
        """One health update per line (the "health_update" channel of a local scan)."""
        return self.root / "health_updates.jsonl"

    @property
    def events(self) -> Path:
        """``{"stream": ..., "data": ...}`` per line (the event-bus channel)."""
        return self.root / "events.jsonl"

    @property
    def drafts(self) -> Path:
        """RFC 5322 ``.eml`` drafts, one file each."""
        return self.root / "drafts"

    @property
    def chat(self) -> Path:
        """One chat message per line."""
        return self.root / "chat.jsonl"

    @property
    def expansion_tasks(self) -> Path:
        """Sales Agent hand-offs, one task per line."""
        return self.root / "expansion_tasks.jsonl"

    @property
    def qbrs(self) -> Path:
        """QBR documents as Markdown, one file each."""
        return self.root / "qbr"

    @property
    def state_db(self) -> Path:
        """The scan's state store (SQLite): verdict history, action claims, cooldowns, completed QBRs."""
        return self.root / "state.db"

    @property
    def alert_log(self) -> Path:
        """The cooldown log: one delivered alert per line."""
        return self.root / "alert_log.jsonl"

    @property
    def completed_qbrs(self) -> Path:
        """QBR keys already produced, one per line."""
        return self.root / "completed_qbrs.jsonl"

    def described(self) -> dict[str, Path]:
        """Every output with a human label, in the order a summary lists them."""
        return {
            "health updates": self.health_updates,
            "events": self.events,
            "drafts": self.drafts,
            "chat": self.chat,
            "expansion tasks": self.expansion_tasks,
            "QBRs": self.qbrs,
            "state store": self.state_db,
            "alert log": self.alert_log,
            "completed QBR keys": self.completed_qbrs,
        }
