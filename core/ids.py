"""Time-sortable identifiers: a prefix, then 48 bits of milliseconds and 80 random bits in base32.

Sorting ids sorts by creation time, which gives per-session FIFO order without a sequence table.
Within one process ids are strictly increasing even inside one millisecond.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_lock = threading.Lock()
_last = 0


def _encode(value: int, length: int = 26) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    global _last
    with _lock:
        value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
        if value <= _last:
            value = _last + 1
        _last = value
    return f"{prefix}_{_encode(value)}"
