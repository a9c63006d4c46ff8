"""Who may post activities to us: the Bot Framework, proven by a JWT in `Authorization`.

A token is accepted when it is signed (RS256) by a key the Bot Framework's OpenID metadata
publishes, that key (when it lists endorsements) is endorsed for the activity's channel ("msteams"), it was issued by the
Bot Framework for this bot (audience = our app id), it is within its lifetime (five minutes of
clock skew allowed), and its `serviceurl` claim names the service URL the activity tells us to
answer at: otherwise a stolen token could point our replies, and our outbound token, elsewhere.

Why not botframework-connector's `JwtTokenValidation`: it fetches keys with blocking `requests`
calls on the event loop, takes its metadata URL from a process-wide class attribute, and also
accepts Emulator-issued tokens. This is the same check with PyJWT, the metadata URL a setting
(a test serves its own), the keys fetched with aiohttp and refreshed at most every few minutes
when an unknown key id shows up.

Without a token, a request is refused unless anonymous access was switched on for development.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

log = logging.getLogger(__name__)

ISSUER = "https://api.botframework.com"
_LEEWAY_S = 300
_KEYS_TTL_S = 24 * 3600
_UNKNOWN_KID_REFRESH_S = 300


class Unauthorized(Exception):
    """The request does not carry a valid Bot Framework token (answered with 401)."""


@dataclass(frozen=True)
class AuthOptions:
    app_id: str | None
    openid_metadata_url: str
    allow_anonymous: bool = False


@dataclass(frozen=True)
class Token:
    """A verified bearer token, not yet matched to the activity it came with."""

    claims: dict[str, Any]
    endorsements: frozenset[str]
    anonymous: bool = False

    def admit(self, service_url: str, channel_id: str) -> None:
        """Raises Unauthorized unless the signing key is endorsed for the activity's channel
        and the token was issued for the service URL the activity names."""
        if self.anonymous:
            return
        if self.endorsements and channel_id not in self.endorsements:
            raise Unauthorized(f"the signing key is not endorsed for {channel_id!r}")
        if self.claims.get("serviceurl") != service_url:
            raise Unauthorized("the token was issued for another service URL")


@dataclass(frozen=True)
class _Key:
    key: Any
    endorsements: frozenset[str]


class BotFrameworkAuth:
    def __init__(
        self,
        options: AuthOptions,
        session: Callable[[], aiohttp.ClientSession],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._options = options
        self._session = session
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self._fetched_at: float | None = None

    async def verify(self, header: str | None) -> Token:
        """The bearer token checked on its own (signature, issuer, audience, lifetime), before
        the body is read; `Token.admit` then checks it against the activity. Raises Unauthorized."""
        if not header:
            if self._options.allow_anonymous:
                return Token({}, frozenset(), anonymous=True)
            raise Unauthorized("no Authorization header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("not a bearer token")
        if not self._options.app_id:
            raise Unauthorized("no app id is configured to check the token's audience against")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._key(str(kid or ""))
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._options.app_id,
                issuer=ISSUER,
                leeway=_LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return Token(claims, key.endorsements)

    async def authenticate(self, header: str | None, service_url: str, channel_id: str) -> dict[str, Any]:
        """`verify`, then `Token.admit`: the token's claims (empty for an anonymous development
        request); raises Unauthorized."""
        token = await self.verify(header)
        token.admit(service_url, channel_id)
        return token.claims

    async def _key(self, kid: str) -> _Key:
        stale = self._fetched_at is None or self._clock() - self._fetched_at > _KEYS_TTL_S
        may_refresh = self._fetched_at is None or self._clock() - self._fetched_at > _UNKNOWN_KID_REFRESH_S
        if stale or (kid not in self._keys and may_refresh):
            await self._refresh()
        found = self._keys.get(kid)
        if found is None:
            raise Unauthorized("the token is signed by an unknown key")
        return found

    async def _refresh(self) -> None:
        try:
            metadata = await self._get_json(self._options.openid_metadata_url)
            jwks = await self._get_json(str(metadata["jwks_uri"]))
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            log.warning("cannot read the Bot Framework signing keys: %s", exc)
            if not self._keys:
                raise Unauthorized("the signing keys are unavailable") from exc
            return  # keep the keys we have
        keys = {}
        for jwk in jwks.get("keys") or []:
            try:
                keys[str(jwk["kid"])] = _Key(jwt.PyJWK(jwk).key, frozenset(jwk.get("endorsements") or []))
            except (KeyError, jwt.PyJWTError) as exc:
                log.warning("skipping an unusable signing key: %s", exc)
        self._keys = keys
        self._fetched_at = self._clock()

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with self._session().get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            response.raise_for_status()
            found: dict[str, Any] = await response.json(content_type=None)
            return found
