"""Fuzzing the readers of untrusted bytes: nothing but a clear project error comes out, and nothing hangs.

Portfolio files (CSV, JSON, JSONL, YAML), the config loader and the Notion property parser get random bytes,
structure-aware garbage (YAML/JSON tokens, aliases, tags, huge numbers, control characters) and mutated real
files. A per-example deadline catches a hang. ``CSM_FUZZ_EXAMPLES`` raises the example count (default 40
per target, a few seconds in all) for a longer run.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import csm_rules
from csm_rules.errors import ConfigError, SourceError
from csm_rules.notion.properties import PropertyValueError, parse_property
from csm_rules.sources.portfolio_files import FileSource, sample_portfolio_path

AS_OF = date(2026, 11, 24)
FUZZ = settings(
    max_examples=int(os.environ.get("CSM_FUZZ_EXAMPLES", "40")),
    deadline=timedelta(seconds=10),  # far above any legitimate example; a hang or blow-up trips it
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    database=None,
)

TOKENS = [
    "- ", "account_id: ", "as_of: ", "segment: ", "arr: ", "owner: ", "email: ", "features: ", "name: ",
    "accounts:", "&a ", "*a", "<<: ", "{", "}", "[", "]", ",", ":", "? ", "|", ">", "'", '"', "\n", "\n  ",
    "  ", "\t", "!!python/object:os.system", "!!binary", "!!str ", "!!float ", "%YAML 1.1\n", "---\n",
    "...\n",
    "2026-11-24", "1e308", "-1e308", "1" * 40, ".nan", ".inf", "~", "null", "true", "\x00", "\x1b[2K",
    "\ufeff", "\u202e", "a@b.c, d@e.f", "=cmd|' /C calc'!A0", "\\u0000", '{"a":1,"a":2}', "#",
]  # fmt: skip
token_text = st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=60).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)


def _mutated(data: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    for position, length, insert in cuts:
        at = position % (len(data) + 1)
        data = data[:at] + insert + data[at + length :]
    return data


mutations = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 40), st.binary(max_size=12)), max_size=6)
SAMPLE = sample_portfolio_path().read_bytes()[:6000]


def _read(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"portfolio{suffix}"
    path.write_bytes(data)
    message = None
    try:
        result = FileSource(path).read(as_of=AS_OF)
    except SourceError as exc:
        message = str(exc)
    if message is not None:
        assert message.startswith(str(path))  # a clear message, naming the file
        return
    for problem in result.problems:
        assert problem.location.startswith(str(path)) and problem.message


@FUZZ
@given(
    suffix=st.sampled_from([".csv", ".json", ".jsonl", ".yaml"]),
    data=st.binary(max_size=400) | token_text.map(str.encode),
)
def test_portfolio_readers_take_any_bytes(tmp_path: Path, suffix: str, data: bytes) -> None:
    _read(tmp_path, suffix, data)


@FUZZ
@given(suffix=st.sampled_from([".json", ".jsonl", ".yaml"]), rows=st.lists(json_values, max_size=4))
def test_portfolio_readers_take_any_json_shaped_rows(tmp_path: Path, suffix: str, rows: list[object]) -> None:
    # JSON is YAML too; non-finite floats come out as NaN/Infinity tokens, which no reader may accept.
    text = "\n".join(json.dumps(row) for row in rows) if suffix == ".jsonl" else json.dumps(rows)
    _read(tmp_path, suffix, text.encode())


@FUZZ
@given(cuts=mutations)
def test_a_mutated_real_portfolio_reads_or_fails_clearly(
    tmp_path: Path, cuts: list[tuple[int, int, bytes]]
) -> None:
    _read(tmp_path, ".jsonl", _mutated(SAMPLE, cuts))


DEFAULTS = csm_rules.load_config()
WEIGHTS = Path(DEFAULTS.weights_path).read_bytes()
THRESHOLDS = Path(DEFAULTS.thresholds_path).read_bytes()


@FUZZ
@given(which=st.sampled_from(["weights", "thresholds"]), cuts=mutations, tail=token_text)
def test_the_config_loader_takes_any_file(
    tmp_path: Path, which: str, cuts: list[tuple[int, int, bytes]], tail: str
) -> None:
    base = WEIGHTS if which == "weights" else THRESHOLDS
    path = tmp_path / f"{which}.yaml"
    path.write_bytes(_mutated(base, cuts) + tail.encode())
    message = None
    try:
        config = csm_rules.load_config(**{which: path})
    except ConfigError as exc:
        message = str(exc)
    if message is not None:
        assert str(path) in message
        return
    assert config.fingerprint.startswith("sha256:")


PROPERTY_TYPES = [
    "title", "rich_text", "number", "select", "multi_select", "date", "checkbox", "people", "relation",
    "formula", "rollup", "unique_id", "email", "status", "url", "created_time", "bogus",
]  # fmt: skip
property_values = st.sampled_from(PROPERTY_TYPES).flatmap(
    lambda kind: st.fixed_dictionaries({"type": st.just(kind), kind: json_values})
)


@FUZZ
@given(value=property_values | st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_the_notion_property_parser_takes_any_value(value: dict[str, object]) -> None:
    message = None
    try:
        parse_property(value)
    except PropertyValueError as exc:
        message = str(exc)
    assert message is None or message
