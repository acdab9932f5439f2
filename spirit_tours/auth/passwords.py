"""Argon2id password hashing, off the event loop (hashing is deliberately slow)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Production: argon2-cffi's defaults (RFC 9106's low-memory profile), about 0.4 s a hash here.
_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so that a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("spirit-tours-timing-equaliser")

MIN_PASSWORD_LENGTH = 8


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash (and equalise misses) with ``hasher`` from now on in this process.

    Only the test suite calls it, with cheap parameters: a thousand tests sign users in. A hash
    carries its own parameters, so either kind verifies under either profile.
    """
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("spirit-tours-timing-equaliser")


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; ``None`` (unknown user) takes as long and is False."""
    return await asyncio.to_thread(_verify, password_hash, password)
