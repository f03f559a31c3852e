"""State-store fixtures: a store location per engine (a SQLite file; a PostgreSQL schema, dropped after)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from csm_rules.state.store import StateStore


@dataclass(frozen=True)
class StoreLocation:
    """Where a test's state lives: a URL and a schema, so other threads and processes can open it too."""

    engine: str
    url: str
    schema: str | None
    opened: list[StateStore] = field(default_factory=list, compare=False)

    def open(self, **options: Any) -> StateStore:
        """A new store on this location (a new owner: another worker), closed after the test."""
        store = StateStore(self.url, schema=self.schema, **options)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        """Close every store :meth:`open` gave."""
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreLocation]:
    """The state store location on each engine; PostgreSQL gets a unique schema, dropped afterwards."""
    if request.param == "sqlite":
        sqlite = StoreLocation("sqlite", f"sqlite:///{tmp_path / 'state.db'}", None)
        yield sqlite
        sqlite.close_all()
        return
    import sqlalchemy

    url: str = request.getfixturevalue("postgres_url")
    schema = f"csm_test_{uuid.uuid4().hex[:12]}"
    postgres = StoreLocation("postgresql", url, schema)
    try:
        yield postgres
    finally:
        postgres.close_all()
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
