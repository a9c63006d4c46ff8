"""Slack's request signing: `X-Slack-Signature` is `v0=` and the HMAC-SHA256, keyed by the app's
signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw body}`; a timestamp more than five
minutes away from now is refused, so a captured request cannot be replayed later.

Checked here on the raw bytes, before anything parses them. Why not slack-sdk's
`SignatureVerifier`: it raises instead of saying no on what a stranger can send (it reads the
timestamp with `int()`, decodes the body as UTF-8 and compares with `hmac.compare_digest`,
which raises on non-ASCII text), and a body it cannot decode could never be checked at all, so
a signed but malformed body would be a 401 rather than the 400 it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from core.errors import Unauthorized

MAX_SKEW_S = 300
_MAX_TIMESTAMP_DIGITS = 12


class SlackSignature:
    def __init__(self, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode()
        self._clock = clock

    def check(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Raises Unauthorized unless Slack signed `body` within the last five minutes."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
            raise Unauthorized("the request is not signed by Slack")
        if abs(self._clock() - int(timestamp)) > MAX_SKEW_S:
            raise Unauthorized("the request's signature has expired")
        digest = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
        if not hmac.compare_digest(f"v0={digest.hexdigest()}".encode(), signature.encode("utf-8", "replace")):
            raise Unauthorized("the request is not signed by Slack")
