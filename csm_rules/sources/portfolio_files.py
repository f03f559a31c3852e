"""Portfolio files: account snapshots (and churn outcomes) read from CSV, JSON, JSONL and YAML.

The format follows the file's extension: ``.csv``, ``.json`` (a list of objects, or ``{"accounts": [...]}``),
``.jsonl`` / ``.ndjson`` (one object a line) and ``.yaml`` / ``.yml`` (same shapes as JSON). Every row is
built with ``AccountSnapshot(**fields)``, so the snapshot model stays the one contract. Columns and the CSV
cell syntax are documented in ``docs/portfolio-files.md``.

Two kinds of failure are kept apart:

- a row that cannot become a snapshot (a bad value, an unknown field, no ``as_of``) becomes one
  :class:`~csm_rules.SourceProblem` per offending field, naming ``file:line``, the field and the value
  as written — and the rest of the file goes on;
- a file that cannot be read as a whole (unreadable, unparseable JSON or YAML, a CSV without a usable header)
  raises :class:`~csm_rules.errors.SourceError` naming the file and line.

The outcome columns ``churned`` and ``churn_date`` may sit beside the snapshot fields in any format. They are
never passed to the snapshot: :meth:`FileSource.read` ignores them, :meth:`FileSource.read_with_outcomes`
returns them as :class:`Outcome` objects keyed by account id.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import IO, Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Strict, ValidationError, field_validator, model_validator

from csm_rules.config.yaml_files import MAX_PORTFOLIO_BYTES, parse_yaml
from csm_rules.domain.signals import SIGNALS
from csm_rules.domain.snapshot import AccountSnapshot
from csm_rules.errors import SnapshotError, SourceError
from csm_rules.gc_pause import collector_paused
from csm_rules.sources.protocol import SourceBatch, SourceProblem, SourceResult
from csm_rules.sources.seen import SeenIds

__all__ = [
    "OUTCOME_FIELDS",
    "FileFormat",
    "FileSource",
    "Outcome",
    "iter_snapshots",
    "iter_snapshots_with_outcomes",
    "sample_outcomes_path",
    "sample_portfolio_path",
]

FileFormat = Literal["csv", "json", "jsonl", "yaml"]

#: Columns saying what happened after the snapshot: split off, never validated as snapshot fields.
OUTCOME_FIELDS: tuple[str, ...] = ("churned", "churn_date")

_FORMATS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
}
_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
_HISTORY_COLUMNS = ("account_id", "date", "score", "band")
_HISTORY_OPTIONAL = ("subscores",)
_MAX_SHOWN = 200  # characters of an offending value quoted in a problem; enough to recognise it


class Outcome(BaseModel):
    """What happened to an account after its snapshot: whether it churned and, if known, when.

    ``churn_date`` without ``churned: true`` is rejected: a date on a retained account is a data error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    churned: Annotated[bool, Strict()]
    churn_date: date | None = None

    @field_validator("churn_date", mode="before")
    @classmethod
    def _date_or_iso_text(cls, value: object) -> object:
        # pydantic's lax date also takes numbers as Unix timestamps; a churn date written as 5 is a data error
        if value is None or isinstance(value, date | str):
            return value
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")

    @model_validator(mode="after")
    def _date_means_churned(self) -> Outcome:
        if self.churn_date is not None and not self.churned:
            raise ValueError("churn_date is set but churned is false")
        return self


def sample_portfolio_path() -> Path:
    """The bundled sample portfolio (JSONL, 60+ accounts as of 2026-11-24) shipped inside the package."""
    return _DATA_DIR / "sample_portfolio.jsonl"


def sample_outcomes_path() -> Path:
    """The bundled backtest sample (JSONL, snapshots as of 2025-11-24 with ``churned`` / ``churn_date``)."""
    return _DATA_DIR / "sample_outcomes.jsonl"


class FileSource:
    """A portfolio in one file (CSV, JSON, JSONL or YAML), optionally with a companion health-history CSV.

    Implements :class:`~csm_rules.PortfolioSource`. The format is chosen by extension; an unknown
    extension raises :class:`~csm_rules.errors.SourceError` here, before anything is read. Each account id may
    appear once: the first row wins and later rows with the same id are problems.

    Example::

        result = FileSource("portfolio.csv", history_path="history.csv").read(as_of=date(2026, 11, 24))
        for problem in result.problems:
            print(problem.location, problem.field, problem.message)
    """

    def __init__(self, path: str | Path, *, history_path: str | Path | None = None) -> None:
        self.path = Path(path)
        self.format: FileFormat = _format_of(self.path)
        self.history_path = Path(history_path) if history_path is not None else None
        if self.history_path is not None and self.history_path.suffix.lower() != ".csv":
            raise SourceError(f"{self.history_path}: the health-history file must be a .csv file")

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, history_path={self.history_path!r})"

    def read(self, as_of: date | None = None) -> SourceResult:
        """Read every account; ``as_of`` is used for rows that carry no ``as_of`` of their own.

        Outcome columns are stripped and not checked; use :meth:`read_with_outcomes` to get them.
        """
        result, _ = self._collect(as_of, with_outcomes=False)
        return result

    def read_batches(self, as_of: date | None, size: int) -> Iterator[SourceBatch]:
        """Stream the accounts in batches of ``size`` (a :class:`~csm_rules.sources.protocol.BatchedSource`):
        JSONL and CSV are read a row at a time, so the scan's memory does not grow with the file. Only the
        account ids are remembered (compactly, :class:`~csm_rules.sources.seen.SeenIds`), to report
        duplicates as :meth:`read` does."""
        seen = SeenIds()
        snapshots: list[AccountSnapshot] = []
        problems: list[SourceProblem] = []
        for built in _records(self.path, self.format, as_of, self.history_path):
            problems.extend(built.problems)
            snapshot = built.snapshot
            if snapshot is None:
                continue
            earlier = seen.first_location(snapshot.account_id, built.location)
            if earlier != built.location:
                problems.append(_duplicate(snapshot.account_id, built.location, earlier))
                continue
            snapshots.append(snapshot)
            if len(snapshots) == size:
                yield SourceBatch(tuple(snapshots), tuple(problems))
                snapshots, problems = [], []
        if snapshots or problems:
            yield SourceBatch(tuple(snapshots), tuple(problems))

    def read_with_outcomes(self, as_of: date | None = None) -> tuple[SourceResult, dict[str, Outcome]]:
        """Read every account and its churn outcome.

        Accounts whose row has no outcome columns (or only empty ones) are absent from the dict. A row whose
        outcome is invalid (``churned`` not a boolean, a malformed ``churn_date``) is a problem, not a
        snapshot: a backtest must not silently count it as retained.
        """
        return self._collect(as_of, with_outcomes=True)

    def _collect(self, as_of: date | None, *, with_outcomes: bool) -> tuple[SourceResult, dict[str, Outcome]]:
        snapshots: list[AccountSnapshot] = []
        problems: list[SourceProblem] = []
        outcomes: dict[str, Outcome] = {}
        first_seen: dict[str, str] = {}
        # Thousands of snapshots: the cyclic collector would re-walk the growing list (gc_pause).
        with collector_paused():
            for built in _records(self.path, self.format, as_of, self.history_path):
                problems.extend(built.problems)
                if with_outcomes:
                    problems.extend(built.outcome_problems)
                snapshot = built.snapshot
                if snapshot is None or (with_outcomes and built.outcome_problems):
                    continue
                earlier = first_seen.get(snapshot.account_id)
                if earlier is not None:
                    problems.append(_duplicate(snapshot.account_id, built.location, earlier))
                    continue
                first_seen[snapshot.account_id] = built.location
                snapshots.append(snapshot)
                if built.outcome is not None:
                    outcomes[snapshot.account_id] = built.outcome
        result = SourceResult(snapshots=tuple(snapshots), problems=tuple(problems))
        return result, outcomes


def iter_snapshots(
    path: str | Path, *, as_of: date | None = None, history_path: str | Path | None = None
) -> Iterator[AccountSnapshot | SourceProblem]:
    """Stream a portfolio file row by row: each row yields its snapshot, or one problem per offending field.

    JSONL and CSV are read a line at a time, so a file of a million accounts never sits in memory; JSON and
    YAML are parsed whole first (their formats cannot be streamed with the standard library). A companion
    history file is loaded whole. Unlike :class:`FileSource`, duplicate account ids are not detected here
    (that would mean remembering every id). Outcome columns are stripped. The format is checked when this is
    called; read errors of the whole file raise :class:`~csm_rules.errors.SourceError` while iterating.
    """
    fmt = _format_of(Path(path))
    return _snapshots_only(Path(path), fmt, as_of, _optional_path(history_path))


def iter_snapshots_with_outcomes(
    path: str | Path, *, as_of: date | None = None, history_path: str | Path | None = None
) -> Iterator[tuple[AccountSnapshot, Outcome | None] | SourceProblem]:
    """Like :func:`iter_snapshots`, but yields ``(snapshot, outcome)`` pairs; the outcome may be None.

    A row with an invalid outcome yields its problems instead of a pair, as in
    :meth:`FileSource.read_with_outcomes`.
    """
    fmt = _format_of(Path(path))
    return _pairs(Path(path), fmt, as_of, _optional_path(history_path))


def _snapshots_only(
    path: Path, fmt: FileFormat, as_of: date | None, history_path: Path | None
) -> Iterator[AccountSnapshot | SourceProblem]:
    for built in _records(path, fmt, as_of, history_path):
        if built.snapshot is not None:
            yield built.snapshot
        else:
            yield from built.problems


def _pairs(
    path: Path, fmt: FileFormat, as_of: date | None, history_path: Path | None
) -> Iterator[tuple[AccountSnapshot, Outcome | None] | SourceProblem]:
    for built in _records(path, fmt, as_of, history_path):
        if built.snapshot is not None and not built.outcome_problems:
            yield built.snapshot, built.outcome
        else:
            yield from built.problems
            yield from built.outcome_problems


def _optional_path(path: str | Path | None) -> Path | None:
    return Path(path) if path is not None else None


def _format_of(path: Path) -> FileFormat:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise SourceError(
            f"{path}: unknown portfolio format {path.suffix or '(no extension)'!r}; expected {known}"
        )
    return fmt


# --- how CSV cells become typed values ----------------------------------------------------------------------

_Kind = Literal["text", "int", "float", "date", "bool", "text_list", "json", "custom"]
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_INT = re.compile(r"[+-]?\d+(?:\.0*)?")  # "5.0" is lossless, and spreadsheets write whole numbers that way
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _unwrap(annotation: Any) -> Any:
    """The type under ``Optional[...]`` and ``Annotated[...]``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin is Union or origin is types.UnionType:
            args = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _kind_of(annotation: Any) -> _Kind:
    base = _unwrap(annotation)
    origin = get_origin(base)
    if origin is tuple:
        return "text_list" if _unwrap(get_args(base)[0]) is str else "json"
    if origin is dict or (isinstance(base, type) and issubclass(base, BaseModel)):
        return "json"
    if base is bool:
        return "bool"
    if base is int:
        return "int"
    if base is float:
        return "float"
    if base is date:
        return "date"
    if base is str or (isinstance(base, type) and issubclass(base, Enum)):
        return "text"  # enums are validated (and case-folded where allowed) by the snapshot itself
    raise TypeError(f"no CSV cell conversion for {annotation!r}")


_SNAPSHOT_FIELDS = AccountSnapshot.model_fields
_FIELD_KINDS: dict[str, _Kind] = {name: _kind_of(info.annotation) for name, info in _SNAPSHOT_FIELDS.items()}
_FIELD_KINDS["churned"] = "bool"
_FIELD_KINDS["churn_date"] = "date"


def _flattened_columns() -> dict[str, tuple[str, str, _Kind]]:
    """``owner.email``-style columns: column name → (field, key, kind of the cell)."""
    columns: dict[str, tuple[str, str, _Kind]] = {}
    for name, info in _SNAPSHOT_FIELDS.items():
        base = _unwrap(info.annotation)
        if isinstance(base, type) and issubclass(base, BaseModel):
            for sub, sub_info in base.model_fields.items():
                columns[f"{name}.{sub}"] = (name, sub, _kind_of(sub_info.annotation))
    for signal in SIGNALS:
        columns[f"observed_at.{signal}"] = ("observed_at", signal, "date")
    return columns


_FLATTENED = _flattened_columns()


def _text_cell(text: str) -> Any:
    return text


def _int_cell(text: str) -> Any:
    # int() is the fast path; it also takes "1_000", which the file format does not
    if "_" not in text:
        try:
            return int(text)
        except ValueError:
            pass
    if not _INT.fullmatch(text):
        raise ValueError("expected a whole number")
    return int(text.split(".")[0])


def _float_cell(text: str) -> Any:
    # float() is the fast path; it also takes "nan", "inf" and "1_0", which go through the pattern
    if "_" not in text:
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    if not _FLOAT.fullmatch(text):
        raise ValueError("expected a number")
    return float(text)


def _date_cell(text: str) -> Any:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("expected a date as YYYY-MM-DD") from None


def _bool_cell(text: str) -> Any:
    folded = text.lower()
    if folded in _TRUE or folded in _FALSE:
        return folded in _TRUE
    raise ValueError("expected true or false")


def _json_cell(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_object)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None


def _custom_cell(text: str) -> Any:
    # a custom signal's input: a number when it reads as one, else a category
    return float(text) if _FLOAT.fullmatch(text) else text


def _text_list_cell(text: str) -> Any:
    if text.startswith("["):
        return _json_cell(text)
    return [part.strip() for part in text.split(";") if part.strip()]


#: One stripped, non-empty CSV cell as the value its field declares; ValueError says what was expected.
_CONVERTERS: dict[_Kind, Callable[[str], Any]] = {
    "text": _text_cell,
    "int": _int_cell,
    "float": _float_cell,
    "date": _date_cell,
    "bool": _bool_cell,
    "text_list": _text_list_cell,
    "json": _json_cell,
    "custom": _custom_cell,
}


def _convert(text: str, kind: _Kind) -> Any:
    """One stripped, non-empty CSV cell as the value its field declares; ValueError says what was expected."""
    return _CONVERTERS[kind](text)


# --- duplicate keys in JSON ---------------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    """A JSON object names one key twice (``json`` keeps the last one silently)."""


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for every JSON the readers decode: a repeated key is an error, not last-wins."""
    result = dict(pairs)
    if len(result) != len(pairs):
        keys = [key for key, _ in pairs]
        repeated = next(key for index, key in enumerate(keys) if key in keys[:index])
        raise _DuplicateKey(f"duplicate key {_shorten(repr(repeated))}")
    return result


# --- rows as read, before validation ------------------------------------------------------------------------


@dataclass(frozen=True)
class _CellError:
    """A value that could not even be handed to the snapshot (bad CSV cell, unknown field, not an object)."""

    field: str | None
    value: str | None
    message: str


@dataclass(frozen=True)
class _Row:
    location: str
    fields: dict[str, Any] | None  # None: the item is not an account at all (not an object, not JSON)
    account_id: str | None = None  # for rows without fields, when the id can still be read (a short CSV row)
    raw: Mapping[str, str] = field(default_factory=dict)  # CSV cells as written, for quoting in problems
    errors: tuple[_CellError, ...] = ()
    aliases: Mapping[str, str] = field(
        default_factory=dict
    )  # snapshot error path → the column the user wrote


@dataclass(frozen=True)
class _Built:
    location: str
    account_id: str | None
    snapshot: AccountSnapshot | None
    problems: tuple[SourceProblem, ...]
    outcome: Outcome | None = None
    outcome_problems: tuple[SourceProblem, ...] = ()


def _open(path: Path, *, csv_mode: bool = False) -> IO[str]:
    try:
        # utf-8-sig drops the byte-order mark spreadsheet programs put at the start of exported CSV
        if csv_mode:
            return path.open(encoding="utf-8-sig", newline="")
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _read_text(path: Path) -> str:
    with _open(path) as handle:
        try:
            return handle.read()
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _duplicate(account_id: str, location: str, earlier: str) -> SourceProblem:
    """The problem of a row whose account id an earlier row (at ``earlier``) already had."""
    return SourceProblem(
        account_id=account_id,
        location=location,
        field="account_id",
        value=account_id,
        message=f"duplicate account_id; the row at {earlier} is used",
    )


def _read_rows(path: Path, fmt: FileFormat) -> Iterator[_Row]:
    where = str(path)
    if fmt == "csv":
        yield from _csv_rows(path, where)
    elif fmt == "jsonl":
        yield from _jsonl_rows(path, where)
    else:
        text = _read_text(path)
        items = _json_items(text, where) if fmt == "json" else _yaml_items(text, where)
        for line, item in items:
            yield _object_row(f"{where}:{line}", item)


def _jsonl_rows(path: Path, where: str) -> Iterator[_Row]:
    with _open(path) as handle:
        line_no = 0
        try:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                location = f"{where}:{line_no}"
                try:
                    item = json.loads(line, object_pairs_hook=_unique_object)
                except _DuplicateKey as exc:
                    yield _Row(location, None, errors=(_CellError(None, None, str(exc)),))
                    continue
                except json.JSONDecodeError as exc:
                    # one corrupt line in a large export is that account's problem, not the whole file's
                    error = _CellError(
                        None, _shorten(line.strip()), f"not valid JSON ({exc.msg} at column {exc.colno})"
                    )
                    yield _Row(location, None, errors=(error,))
                    continue
                yield _object_row(location, item)
        except UnicodeDecodeError as exc:
            raise SourceError(f"{where}:{line_no + 1}: not UTF-8 text ({exc.reason})") from None


def _object_row(location: str, item: object) -> _Row:
    if not isinstance(item, dict):
        message = f"expected an object of snapshot fields, got {type(item).__name__}"
        return _Row(location, None, errors=(_CellError(None, _shorten(_show(item)), message),))
    fields: dict[str, Any] = {}
    errors: list[_CellError] = []
    for key, value in item.items():
        if not isinstance(key, str) or (key not in _FIELD_KINDS):
            errors.append(_CellError(str(key), _show(value), _unknown_field(str(key), list(_FIELD_KINDS))))
        elif value is not None:  # JSON null / empty YAML value: the field is missing, as an empty CSV cell is
            fields[key] = value
    return _Row(location, fields, errors=tuple(errors))


def _unknown_field(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown field {name!r}{hint}; see docs/portfolio-files.md"


# --- CSV ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    field: str
    key: str | None  # the key inside the field for flattened columns (owner.email → "email")
    kind: _Kind

    @property
    def convert(self) -> Callable[[str], Any]:
        """The cell converter of this column's kind."""
        return _CONVERTERS[self.kind]


def _csv_columns(header: list[str], where: str) -> list[_Column]:
    columns: list[_Column] = []
    errors: list[str] = []
    seen: set[str] = set()
    known = [*_FIELD_KINDS, *_FLATTENED, "features.<feature name>", "custom.<input field>"]
    for position, raw_name in enumerate(header, start=1):
        name = raw_name.strip()
        if not name:
            errors.append(f"column {position} has no name")
            continue
        if name in seen:
            errors.append(f"column {name!r} appears twice")
        seen.add(name)
        if name in _FIELD_KINDS:
            columns.append(_Column(name, name, None, _FIELD_KINDS[name]))
        elif name in _FLATTENED:
            parent, key, kind = _FLATTENED[name]
            columns.append(_Column(name, parent, key, kind))
        elif name.startswith("features.") and len(name) > len("features."):
            # one column per feature holding its adoption rate: the natural spreadsheet layout
            columns.append(_Column(name, "features", name.removeprefix("features."), "float"))
        elif name.startswith("custom.") and len(name) > len("custom."):
            # a custom signal's input (thresholds.yaml custom_signals): a number, else a category
            columns.append(_Column(name, "custom", name.removeprefix("custom."), "custom"))
        elif name.startswith("observed_at.") and _IDENTIFIER.fullmatch(name.removeprefix("observed_at.")):
            # a custom signal's observation date (the built-in ones are in _FLATTENED)
            columns.append(_Column(name, "observed_at", name.removeprefix("observed_at."), "date"))
        else:
            errors.append(_unknown_field(name, known).replace("field", "column", 1))
    if "account_id" not in seen:
        errors.append("no 'account_id' column; the first line must be a header naming the columns")
    if errors:
        raise SourceError(f"{where}:1: bad header: " + "; ".join(errors))
    return columns


def _csv_rows(path: Path, where: str) -> Iterator[_Row]:
    with _open(path, csv_mode=True) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise SourceError(f"{where}:1: empty file; expected a header row naming the columns")
            columns = _csv_columns(header, where)
            id_index = [column.name for column in columns].index("account_id")
            index = {column.name: position for position, column in enumerate(columns)}
            converters = [(column, column.convert) for column in columns]
            last_line = reader.line_num
            for cells in reader:
                start, last_line = last_line + 1, reader.line_num  # a quoted cell may span several lines
                if not any(cell.strip() for cell in cells):
                    continue
                location = f"{where}:{start}"
                if len(cells) != len(columns):
                    message = f"has {len(cells)} cells but the header has {len(columns)} columns"
                    given_id = cells[id_index].strip() if id_index < len(cells) else ""
                    error = _CellError(None, None, message)
                    yield _Row(location, None, account_id=given_id or None, errors=(error,))
                    continue
                yield _csv_row(location, converters, index, cells)
        except csv.Error as exc:
            raise SourceError(f"{where}:{reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise SourceError(f"{where}:{reader.line_num + 1}: not UTF-8 text ({exc.reason})") from None


class _CsvCells(Mapping[str, str]):
    """A CSV row's non-empty cells as written, by column name; built only when a problem quotes one."""

    def __init__(self, index: Mapping[str, int], cells: list[str]) -> None:
        self._index, self._cells = index, cells

    def __getitem__(self, name: str) -> str:
        cell = self._cells[self._index[name]]
        if not cell.strip():
            raise KeyError(name)
        return cell

    def __iter__(self) -> Iterator[str]:
        return (name for name, i in self._index.items() if self._cells[i].strip())

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _csv_row(
    location: str,
    columns: list[tuple[_Column, Callable[[str], Any]]],
    index: Mapping[str, int],
    cells: list[str],
) -> _Row:
    fields: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    errors: list[_CellError] = []
    for (column, convert), cell in zip(columns, cells, strict=True):
        text = cell.strip()
        if not text:
            continue  # an empty cell is a missing value, never an empty string or zero
        try:
            value = convert(text)
        except ValueError as exc:
            errors.append(_CellError(column.name, cell, str(exc)))
            continue
        if column.key is None:
            fields[column.field] = value
        else:
            nested.setdefault(column.field, {})[column.key] = value
    raw = _CsvCells(index, cells)
    aliases: dict[str, str] = {}
    for name, parts in nested.items():
        if name in fields:
            message = f"given both as a {name!r} cell and as {name}.* columns; use one"
            errors.append(_CellError(name, raw.get(name), message))
        elif name == "features":
            fields[name] = [{"name": key, "adoption_rate": rate} for key, rate in parts.items()]
            aliases.update({f"features.{i}.adoption_rate": f"features.{key}" for i, key in enumerate(parts)})
        else:
            fields[name] = parts
    return _Row(location, fields, raw=raw, errors=tuple(errors), aliases=aliases)


# --- JSON and YAML ------------------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SHAPE = 'expected a list of account objects, or an object {"accounts": [...]}'


class _LineCounter:
    """Line numbers of increasing offsets in one text, counted incrementally (not O(n) per lookup)."""

    def __init__(self, text: str) -> None:
        self._text, self._pos, self._line = text, 0, 1

    def at(self, pos: int) -> int:
        self._line += self._text.count("\n", self._pos, pos)
        self._pos = pos
        return self._line


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _json_items(text: str, where: str) -> list[tuple[int, Any]]:
    """Top-level account objects with the line each starts on (the two top levels are scanned by hand)."""
    decoder = json.JSONDecoder(object_pairs_hook=_unique_object)
    lines = _LineCounter(text)
    try:
        pos = _skip(text, 0)
        if pos == len(text):
            raise SourceError(f"{where}:1: empty file; {_SHAPE}")
        if text.startswith("[", pos):
            items, pos = _json_array(text, pos, decoder, lines, where)
        elif text.startswith("{", pos):
            items, pos = _json_accounts(text, pos, decoder, lines, where)
        else:
            raise SourceError(f"{where}:{lines.at(pos)}: {_SHAPE}")
        pos = _skip(text, pos)
        if pos != len(text):
            raise json.JSONDecodeError("Extra data", text, pos)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{where}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return items


def _json_array(
    text: str, pos: int, decoder: json.JSONDecoder, lines: _LineCounter, where: str
) -> tuple[list[tuple[int, Any]], int]:
    items: list[tuple[int, Any]] = []
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return items, pos + 1
    while True:
        pos = _skip(text, pos)
        line = lines.at(pos)
        try:
            item, pos = decoder.raw_decode(text, pos)
        except _DuplicateKey as exc:
            raise SourceError(f"{where}:{line}: {exc} in this account object") from None
        items.append((line, item))
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith("]", pos):
            return items, pos + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter or ']'", text, pos)


def _json_accounts(
    text: str, pos: int, decoder: json.JSONDecoder, lines: _LineCounter, where: str
) -> tuple[list[tuple[int, Any]], int]:
    items: list[tuple[int, Any]] | None = None
    pos = _skip(text, pos + 1)
    while not text.startswith("}", pos):
        key_pos = pos
        key, pos = decoder.raw_decode(text, pos)
        if not isinstance(key, str):
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, key_pos)
        if key != "accounts" or items is not None:
            raise SourceError(f"{where}:{lines.at(key_pos)}: unexpected top-level key {key!r}; {_SHAPE}")
        pos = _skip(text, pos)
        if not text.startswith(":", pos):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
        pos = _skip(text, pos + 1)
        if not text.startswith("[", pos):
            raise SourceError(f'{where}:{lines.at(pos)}: "accounts" must be a list of account objects')
        items, pos = _json_array(text, pos, decoder, lines, where)
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif not text.startswith("}", pos):
            raise json.JSONDecodeError("Expecting ',' delimiter or '}'", text, pos)
    if items is None:
        raise SourceError(f'{where}:{lines.at(pos)}: no "accounts" key; {_SHAPE}')
    return items, pos + 1


def _yaml_items(text: str, where: str) -> list[tuple[int, Any]]:
    """Top-level account mappings with their line; composing first keeps the nodes' positions."""
    # The one strict loader: duplicate keys, aliases and merge keys are errors, size and depth bounded.
    document = parse_yaml(text, source=where, max_bytes=MAX_PORTFOLIO_BYTES, error=SourceError)
    node, data = document.root, document.data
    if node is None:
        raise SourceError(f"{where}:1: empty file; {_SHAPE}")
    sequence: yaml.Node = node
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        extra = [key for key in data if key != "accounts"]
        if extra or "accounts" not in data:
            raise SourceError(
                f"{where}:{node.start_mark.line + 1}: unexpected top-level keys {extra}; {_SHAPE}"
            )
        sequence = next(value for key, value in node.value if key.value == "accounts")
        data = data["accounts"]
    if not isinstance(sequence, yaml.SequenceNode) or not isinstance(data, list):
        raise SourceError(f"{where}:{sequence.start_mark.line + 1}: {_SHAPE}")
    return [(item.start_mark.line + 1, value) for item, value in zip(sequence.value, data, strict=True)]


# --- companion health-history file --------------------------------------------------------------------------


@dataclass
class _History:
    """Health-history points from the companion CSV, by account, each with the line it came from."""

    points: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    problems: dict[str, list[SourceProblem]] = field(default_factory=dict)
    loose: list[SourceProblem] = field(default_factory=list)  # rows that name no account


def _load_history(path: Path) -> _History:
    where = str(path)
    history = _History()
    with _open(path, csv_mode=True) as handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in _HISTORY_COLUMNS if name not in header]
            unknown = [name for name in header if name not in _HISTORY_COLUMNS + _HISTORY_OPTIONAL]
            if missing or unknown or len(set(header)) != len(header):
                raise SourceError(
                    f"{where}:1: bad history header {header}; expected columns "
                    f"{', '.join(_HISTORY_COLUMNS)} and optionally {', '.join(_HISTORY_OPTIONAL)}"
                )
            last_line = reader.line_num
            for cells in reader:
                start, last_line = last_line + 1, reader.line_num
                if any(cell.strip() for cell in cells):
                    _history_row(history, f"{where}:{start}", header, cells)
        except csv.Error as exc:
            raise SourceError(f"{where}:{reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise SourceError(f"{where}:{reader.line_num + 1}: not UTF-8 text ({exc.reason})") from None
    return history


def _history_row(history: _History, location: str, header: list[str], cells: list[str]) -> None:
    if len(cells) != len(header):
        message = f"has {len(cells)} cells but the header has {len(header)} columns"
        history.loose.append(SourceProblem(account_id=None, location=location, message=message))
        return
    row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    account_id = row.pop("account_id")
    if not account_id:
        history.loose.append(
            SourceProblem(account_id=None, location=location, field="account_id", message="no account_id")
        )
        return
    kinds: dict[str, _Kind] = {"date": "date", "score": "float", "band": "text", "subscores": "json"}
    point: dict[str, Any] = {}
    problems: list[SourceProblem] = []
    for name, text in row.items():
        if not text:
            continue  # a missing score/date/band is reported by the snapshot as a required field
        try:
            point[name] = _convert(text, kinds[name])
        except ValueError as exc:
            problems.append(
                SourceProblem(
                    account_id=account_id,
                    location=location,
                    field=f"health_history.{name}",
                    value=_shorten(text),
                    message=str(exc),
                )
            )
    points = history.points.setdefault(account_id, [])
    if problems:
        # the point is left out so its problem is reported once; the account fails on these problems anyway
        history.problems.setdefault(account_id, []).extend(problems)
    else:
        points.append((location, point))


# --- from a row to a snapshot -------------------------------------------------------------------------------


def _records(path: Path, fmt: FileFormat, as_of: date | None, history_path: Path | None) -> Iterator[_Built]:
    history = _load_history(history_path) if history_path is not None else None
    used: set[str] = set()
    for row in _read_rows(path, fmt):
        built = _build(row, as_of, history)
        if history is not None and built.account_id is not None:
            used.add(built.account_id)
        yield built
    if history is None:
        return
    for problem in history.loose:
        yield _Built(problem.location, None, None, (problem,))
    for account_id, points in history.points.items():
        if account_id not in used:
            location = points[0][0] if points else history.problems[account_id][0].location
            message = f"health history for an account that is not in {path}"
            problem = SourceProblem(
                account_id=account_id, location=location, field="account_id", message=message
            )
            yield _Built(location, account_id, None, (problem,))


def _build(row: _Row, as_of: date | None, history: _History | None) -> _Built:
    if row.fields is None:
        unusable = tuple(_cell_problem(row.account_id, row.location, e) for e in row.errors)
        return _Built(row.location, row.account_id, None, unusable)
    fields = dict(row.fields)
    given_id = fields.get("account_id")
    account_id = given_id if isinstance(given_id, str) and given_id else None

    outcome_data = {name: fields.pop(name) for name in OUTCOME_FIELDS if name in fields}
    outcome_errors = [e for e in row.errors if e.field in OUTCOME_FIELDS]
    outcome_problems = [_cell_problem(account_id, row.location, e) for e in outcome_errors]
    outcome = None
    if outcome_data and not outcome_problems:
        outcome, outcome_problems = _outcome(outcome_data, account_id, row.location)

    cell_errors = [e for e in row.errors if e.field not in OUTCOME_FIELDS]
    problems = [_cell_problem(account_id, row.location, e) for e in cell_errors]
    bad_roots = {_root(e.field) for e in cell_errors if e.field is not None}
    if "as_of" not in fields and "as_of" not in bad_roots:
        if as_of is None:
            message = "no as_of: give the row an as_of, or pass as_of when reading"
            problems.append(
                SourceProblem(account_id=account_id, location=row.location, field="as_of", message=message)
            )
            bad_roots.add("as_of")
        else:
            fields["as_of"] = as_of

    point_locations: list[str] = []
    if history is not None and account_id is not None and account_id in history.points:
        problems.extend(history.problems.get(account_id, ()))
        if fields.get("health_history"):
            message = "health history given both in the row and in the history file; use one"
            problems.append(
                SourceProblem(
                    account_id=account_id, location=row.location, field="health_history", message=message
                )
            )
            bad_roots.add("health_history")
        else:
            point_locations = [location for location, _ in history.points[account_id]]
            fields["health_history"] = [point for _, point in history.points[account_id]]

    for root in bad_roots:
        fields.pop(root, None)
    snapshot = None
    try:
        # validated even when some cells were bad, so one pass reports every problem in the row
        candidate = AccountSnapshot(**fields)
    except SnapshotError as exc:
        for error in exc.errors:
            if _root(str(error["field"])) not in bad_roots:
                problems.append(_snapshot_problem(account_id, row, fields, error, point_locations))
    else:
        if not problems:
            snapshot = candidate
    return _Built(row.location, account_id, snapshot, tuple(problems), outcome, tuple(outcome_problems))


def _outcome(
    data: dict[str, Any], account_id: str | None, location: str
) -> tuple[Outcome | None, list[SourceProblem]]:
    try:
        return Outcome(**data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            name = ".".join(str(part) for part in error["loc"]) or "churn_date"
            value = data.get(name)
            problems.append(
                SourceProblem(
                    account_id=account_id,
                    location=location,
                    field=name,
                    value=_shorten(_show(value)) if value is not None else None,
                    message=error["msg"],
                )
            )
        return None, problems


def _root(path: str) -> str:
    return path.split(".", 1)[0]


def _cell_problem(account_id: str | None, location: str, error: _CellError) -> SourceProblem:
    value = _shorten(error.value) if error.value is not None else None
    return SourceProblem(
        account_id=account_id, location=location, field=error.field, value=value, message=error.message
    )


def _snapshot_problem(
    account_id: str | None,
    row: _Row,
    fields: dict[str, Any],
    error: Mapping[str, Any],
    point_locations: list[str],
) -> SourceProblem:
    path = str(error["field"])
    location = row.location
    parts = path.split(".")
    if parts[0] == "health_history" and point_locations and len(parts) > 1 and parts[1].isdigit():
        # the point came from the companion file: point there, not at the portfolio row
        index = int(parts[1])
        if index < len(point_locations):
            location = point_locations[index]
    name = row.aliases.get(path, path)
    if name in row.raw:
        value: str | None = row.raw[name]
    else:
        found, raw_value = _lookup(fields, parts)
        value = _show(raw_value) if found and error["type"] != "missing" else None
    return SourceProblem(
        account_id=account_id,
        location=location,
        field=None if name == "(snapshot)" else name,
        value=_shorten(value) if value is not None else None,
        message=str(error["message"]),
    )


def _lookup(data: Any, parts: list[str]) -> tuple[bool, Any]:
    """The value at a dotted error path (``health_history.2.score``) in the fields as given."""
    for part in parts:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list | tuple) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False, None
    return True, data


def _show(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return json.dumps(value, default=str, ensure_ascii=False)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
