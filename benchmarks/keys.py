"""One encryption key per benchmark run, shared through the environment with the servers and
workers the benchmark starts (their ``Settings`` read ``SPIRIT_ENCRYPTION_KEYS``)."""

from __future__ import annotations

import os

from spirit_tours.core.crypto import Keyring, new_key_spec

os.environ.setdefault("SPIRIT_ENCRYPTION_KEYS", new_key_spec("bench"))
KEYRING = Keyring.parse(os.environ["SPIRIT_ENCRYPTION_KEYS"])
