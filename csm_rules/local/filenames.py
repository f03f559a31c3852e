"""File names made from ids: readable, bounded, and one name per exact id on any file system.

An account id or an idempotency key is data: it may contain ``/``, ``:``, spaces, non-ASCII letters, and
two ids may differ only in case or in characters a file name cannot hold. Sanitising alone maps ``a/b``
and ``a:b`` to one name (one QBR overwrites the other) and ``Acme`` / ``acme`` to one file on a
case-insensitive file system (macOS, Windows). So a name here is::

    {readable prefix}_{digest}{suffix}      e.g.  acme-corp-q4_3f9a0c1d22b7e6a1.md

- the prefix is the id lower-cased, with every run of characters outside ``a-z 0-9 . -`` turned into one
  ``-``, cut to :data:`PREFIX_CHARS` characters — for people, not for uniqueness;
- the digest is the first 16 hex digits (64 bits) of SHA-256 over the exact id's UTF-8 bytes: ids that
  differ in any way, case included, get different names, and hex digits are the same in any case;
- the whole name is at most ``PREFIX_CHARS + 17 + len(suffix)`` characters, far below the 255 bytes
  every common file system allows.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["DIGEST_CHARS", "PREFIX_CHARS", "file_name_for"]

#: Characters of the readable prefix kept at most.
PREFIX_CHARS = 48
#: Hex digits of the SHA-256 digest of the exact id.
DIGEST_CHARS = 16

_OUTSIDE = re.compile(r"[^a-z0-9.-]+")


def file_name_for(identifier: str, *, suffix: str = "") -> str:
    """The file name for ``identifier`` (ending in ``suffix``, e.g. ``".md"``).

    Example::

        file_name_for("Acme/Q4:2026", suffix=".md")   # 'acme-q4-2026_<16 hex digits>.md'
    """
    prefix = _OUTSIDE.sub("-", identifier.lower())[:PREFIX_CHARS].strip(".-") or "id"
    digest = hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    return f"{prefix}_{digest}{suffix}"
