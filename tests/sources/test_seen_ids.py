"""SeenIds: the compact set of account ids a streamed file has shown, with the first location of each."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from csm_rules.sources.seen import SeenIds

_locations = st.one_of(
    st.builds(
        lambda f, n: f"{f}:{n}",
        st.sampled_from(["p.jsonl", "/x/a:b.csv", "C:\\p.csv"]),
        st.integers(1, 10**9),
    ),
    st.text(max_size=12),  # not "<file>:<line>": kept as given
)


@given(st.lists(st.tuples(st.text(max_size=6), _locations), max_size=300))
def test_it_answers_as_a_dict_of_first_locations_does(rows: list[tuple[str, str]]) -> None:
    seen, first = SeenIds(capacity=4), {}  # a small start, so it grows several times
    for account_id, location in rows:
        assert seen.first_location(account_id, location) == first.setdefault(account_id, location)
    assert len(seen) == len(first)


def test_a_hundred_thousand_ids_take_flat_arrays_not_objects() -> None:
    seen = SeenIds()
    for n in range(100_000):
        seen.first_location(f"acc-{n}", f"p.jsonl:{n + 1}")
    assert seen.first_location("acc-77", "p.jsonl:999999") == "p.jsonl:78"
    assert len(seen._prefix_names) == 1 and not seen._odd
    # three arrays of 8-byte slots, at most 2/3 full: ≤ 72 bytes an id, against ~150 for a dict
    assert 3 * 8 * len(seen._lo) <= 72 * 100_000
