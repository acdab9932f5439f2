"""Envelope encryption of sensitive values at rest (AES-256-GCM).

Each value gets its own random 256-bit data key (DEK); the value is sealed with it, and the
DEK itself is sealed ("wrapped") by a key-encryption key (KEK) named by a short id. Only KEKs
live outside the database (``SPIRIT_ENCRYPTION_KEYS``), so rotating one re-wraps 60-byte data
keys and never touches the data. Both seals are authenticated and bound to associated data
(the table and column), so a ciphertext moved to another column, or altered by a single bit,
is refused with :class:`DecryptionError` instead of decrypting to garbage.

Layout of one sealed value (all lengths in bytes)::

    0x01 | len(kid) (1) | kid (ASCII) | wrap nonce (12) | wrapped DEK (32 + 16 tag)
         | data nonce (12) | ciphertext + tag (16)
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
KEY_BYTES = 32  # AES-256
_NONCE = 12
_WRAPPED = KEY_BYTES + 16
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
DEVELOPMENT_KEY_FILE = "encryption.key"


class EncryptionError(Exception):
    """Base of every error about encrypted values; messages never carry key material."""


class KeyConfigurationError(EncryptionError, ValueError):
    """``SPIRIT_ENCRYPTION_KEYS`` is missing or malformed."""


class UnknownKeyError(EncryptionError):
    """A value was sealed by a key that is not configured any more."""


class DecryptionError(EncryptionError):
    """A value failed authentication: tampered with, truncated, or moved from elsewhere."""


@dataclass(frozen=True, slots=True)
class Sealed:
    """The parts of a sealed value."""

    key_id: str
    wrap_nonce: bytes
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        kid = self.key_id.encode("ascii")
        return b"".join(
            (
                bytes((VERSION, len(kid))),
                kid,
                self.wrap_nonce,
                self.wrapped_key,
                self.nonce,
                self.ciphertext,
            )
        )

    @classmethod
    def parse(cls, blob: bytes, where: str) -> Sealed:
        if len(blob) < 2 or blob[0] != VERSION:
            raise DecryptionError(f"{where}: not an encrypted value (unknown format)")
        end = 2 + blob[1]
        kid = blob[2:end]
        minimum = end + _NONCE + _WRAPPED + _NONCE + 16
        if len(blob) < minimum or not kid:
            raise DecryptionError(f"{where}: the encrypted value is truncated")
        try:
            key_id = kid.decode("ascii")
        except UnicodeDecodeError as error:
            raise DecryptionError(f"{where}: the encrypted value is corrupt") from error
        wrap_nonce = blob[end : end + _NONCE]
        wrapped = blob[end + _NONCE : end + _NONCE + _WRAPPED]
        nonce = blob[end + _NONCE + _WRAPPED : end + 2 * _NONCE + _WRAPPED]
        return cls(key_id, wrap_nonce, wrapped, nonce, blob[end + 2 * _NONCE + _WRAPPED :])


def key_id_of(blob: bytes) -> str | None:
    """The id of the KEK that wrapped this value, or None if it is not one of ours."""
    if len(blob) < 2 or blob[0] != VERSION:
        return None
    try:
        return blob[2 : 2 + blob[1]].decode("ascii")
    except UnicodeDecodeError:
        return None


def _wrap_aad(key_id: str, context: str) -> bytes:
    return f"spirit-tours/dek/v{VERSION}|{key_id}|{context}".encode()


def _data_aad(context: str) -> bytes:
    return f"spirit-tours/data/v{VERSION}|{context}".encode()


@dataclass(frozen=True)
class Keyring:
    """The configured KEKs by id; the first one seals, every one of them opens."""

    active_id: str
    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise KeyConfigurationError("the active key must be one of the keys")

    @property
    def ids(self) -> list[str]:
        return list(self.keys)

    def _kek(self, key_id: str, where: str) -> AESGCM:
        key = self.keys.get(key_id)
        if key is None:
            raise UnknownKeyError(
                f"{where} is encrypted with key {key_id!r}, which is not configured "
                f"(configured: {', '.join(self.keys)}); add it to SPIRIT_ENCRYPTION_KEYS"
            )
        return AESGCM(key)

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        """Seal ``plaintext`` under a fresh data key wrapped by the active KEK."""
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        wrap_nonce, nonce = os.urandom(_NONCE), os.urandom(_NONCE)
        wrapped = self._kek(self.active_id, context).encrypt(
            wrap_nonce, data_key, _wrap_aad(self.active_id, context)
        )
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _data_aad(context))
        return Sealed(self.active_id, wrap_nonce, wrapped, nonce, ciphertext).to_bytes()

    def _data_key(self, sealed: Sealed, context: str) -> bytes:
        try:
            return self._kek(sealed.key_id, context).decrypt(
                sealed.wrap_nonce, sealed.wrapped_key, _wrap_aad(sealed.key_id, context)
            )
        except InvalidTag as error:
            raise DecryptionError(
                f"{context}: the data key does not authenticate under key {sealed.key_id!r} "
                "(tampered with, moved from another column, or a different key with this id)"
            ) from error

    def decrypt(self, blob: bytes, context: str) -> bytes:
        sealed = Sealed.parse(blob, context)
        data_key = self._data_key(sealed, context)
        try:
            return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, _data_aad(context))
        except InvalidTag as error:
            raise DecryptionError(
                f"{context}: the encrypted value does not authenticate (tampered with?)"
            ) from error

    def rewrap(self, blob: bytes, context: str) -> bytes:
        """The same value with its data key wrapped by the active KEK (data untouched, but
        authenticated first: a corrupt value is reported, never carried forward)."""
        sealed = Sealed.parse(blob, context)
        data_key = self._data_key(sealed, context)
        try:
            AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, _data_aad(context))
        except InvalidTag as error:
            raise DecryptionError(
                f"{context}: the encrypted value does not authenticate (tampered with?)"
            ) from error
        if sealed.key_id == self.active_id:
            return blob
        wrap_nonce = os.urandom(_NONCE)
        wrapped = self._kek(self.active_id, context).encrypt(
            wrap_nonce, data_key, _wrap_aad(self.active_id, context)
        )
        return Sealed(
            self.active_id, wrap_nonce, wrapped, sealed.nonce, sealed.ciphertext
        ).to_bytes()

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """``id:base64key,id:base64key`` — the first one is active."""
        keys: dict[str, bytes] = {}
        for number, item in enumerate(_items(spec), start=1):
            key_id, colon, encoded = item.partition(":")
            key_id = key_id.strip()
            if not colon or not _KEY_ID.match(key_id):
                raise KeyConfigurationError(
                    f"encryption key #{number}: write it as id:base64key, the id 1-32 of "
                    "A-Z a-z 0-9 _ . -"
                )
            if key_id in keys:
                raise KeyConfigurationError(f"encryption key id {key_id!r} appears twice")
            keys[key_id] = _decode_key(encoded.strip(), key_id)
        if not keys:
            raise KeyConfigurationError("no encryption key given")
        return cls(next(iter(keys)), keys)


def _items(spec: str) -> Iterator[str]:
    return (item.strip() for item in spec.split(",") if item.strip())


def _decode_key(encoded: str, key_id: str) -> bytes:
    standard = encoded.replace("-", "+").replace("_", "/")  # URL-safe base64 too
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise KeyConfigurationError(f"encryption key {key_id!r} is not base64") from error
    if len(key) != KEY_BYTES:
        raise KeyConfigurationError(
            f"encryption key {key_id!r} has {len(key)} bytes; it needs {KEY_BYTES} "
            "(generate one with `spirit-tours generate-key`)"
        )
    return key


def new_key_spec(key_id: str) -> str:
    """A fresh ``id:base64key`` entry for ``SPIRIT_ENCRYPTION_KEYS``."""
    if not _KEY_ID.match(key_id):
        raise KeyConfigurationError("a key id is 1-32 of A-Z a-z 0-9 _ . -")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def development_keyring(data_dir: Path) -> Keyring:
    """The development key, created once in ``<data_dir>/encryption.key`` (mode 0600) — never
    a constant in the repository, so two clones never share it."""
    path = data_dir / DEVELOPMENT_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: the file appears complete or not at all, and
        # of two processes starting together only one key wins (link refuses to overwrite).
        spare = data_dir / f".{DEVELOPMENT_KEY_FILE}.{os.getpid()}.{os.urandom(4).hex()}"
        descriptor = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key_spec("dev1") + "\n")
        try:
            os.link(spare, path)
        except FileExistsError:
            pass
        finally:
            spare.unlink()
    return Keyring.parse(path.read_text())
