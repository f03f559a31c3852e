"""Which account ids a streamed file has shown, and where — in about 40 bytes per id.

A portfolio file is read a row at a time so that a scan's memory does not grow with it, but a duplicate
``account_id`` must still be reported with the row that was used. A ``dict`` of ids and locations costs
~150 bytes per account (150 MB at a million); :class:`SeenIds` keeps two independent 64-bit keyed
hashes of each id (SipHash, salted per process: ids chosen to collide cannot be precomputed) and the
line number of its row in flat arrays (open addressing, at most 2/3 full), so a million ids take 48 MB.
Two different ids share both hashes with a probability of about n² / 2¹²⁹ (10⁻²⁶ at a million).
"""

from __future__ import annotations

from array import array

__all__ = ["SeenIds"]

_MASK = (1 << 64) - 1
_NO_LINE = _MASK  # a location that is not "<prefix>:<line>" is kept in a dict instead


def _zeros(size: int) -> array[int]:
    return array("Q", [0]) * size


class SeenIds:
    """A set of ids, each with the location it was first seen at (``"<file>:<line>"``).

    Example::

        seen = SeenIds()
        seen.first_location("acc-1", "p.jsonl:1")   # -> "p.jsonl:1" (new)
        seen.first_location("acc-1", "p.jsonl:9")   # -> "p.jsonl:1" (a duplicate: the earlier row)
    """

    def __init__(self, capacity: int = 1024) -> None:
        size = 1 << max(4, (capacity - 1).bit_length())
        self._hi, self._lo, self._line = _zeros(size), _zeros(size), _zeros(size)
        self._mask = size - 1
        self._used = 0
        self._prefixes: dict[str, int] = {}
        self._prefix_names: list[str] = []
        self._odd: dict[int, str] = {}

    def __len__(self) -> int:
        return self._used

    def first_location(self, account_id: str, location: str) -> str:
        """``location`` when ``account_id`` is new (it is remembered there); else where it was first seen."""
        hi = hash(account_id) & _MASK
        lo = (hash(account_id + "\x00") & _MASK) | 1  # never 0: a slot whose lo is 0 is empty
        his, los, mask = self._hi, self._lo, self._mask
        slot = hi & mask
        while current := los[slot]:
            if current == lo and his[slot] == hi:
                return self._location(slot)
            slot = (slot + 1) & mask
        his[slot], los[slot], self._line[slot] = hi, lo, self._encode(location, hi, lo)
        self._used += 1
        if 3 * self._used > 2 * len(los):
            self._grow()
        return location

    def _encode(self, location: str, hi: int, lo: int) -> int:
        prefix, _, line = location.rpartition(":")
        if prefix and line.isdigit() and len(line) < 12:
            index = self._prefixes.get(prefix)
            if index is None:
                index = self._prefixes[prefix] = len(self._prefix_names)
                self._prefix_names.append(prefix)
            if index < (1 << 24):
                return (index << 40) | int(line)
        self._odd[(hi << 64) | lo] = location
        return _NO_LINE

    def _location(self, slot: int) -> str:
        code = self._line[slot]
        if code == _NO_LINE:
            return self._odd[(self._hi[slot] << 64) | self._lo[slot]]
        return f"{self._prefix_names[code >> 40]}:{code & ((1 << 40) - 1)}"

    def _grow(self) -> None:
        old = (self._hi, self._lo, self._line)
        size = 2 * len(self._lo)
        self._hi, self._lo, self._line = _zeros(size), _zeros(size), _zeros(size)
        self._mask = mask = size - 1
        his, los, lines = self._hi, self._lo, self._line
        for hi, lo, line in zip(*old, strict=True):
            if lo:
                slot = hi & mask
                while los[slot]:
                    slot = (slot + 1) & mask
                his[slot], los[slot], lines[slot] = hi, lo, line
