"""The e-mail policy of outgoing mail: RFC 2369 / RFC 8058 list headers written as mailbox
providers read them.

Python folds an unstructured header longer than 78 characters by turning it into RFC 2047
encoded words (``=?utf-8?q?=3Chttp…``) when a token (a long URL) does not fit on a line.
Gmail and Yahoo do not decode ``List-Unsubscribe`` before looking for the one-click URI, so
the header must carry ``<https://…>`` literally: it is folded at whitespace only (between
URIs), and a URI longer than a line stays whole (RFC 5322 allows lines up to 998 octets).
The header object folds itself, so this holds whatever policy later flattens the message
(aiosmtplib uses its own ``email.policy.SMTP``).
"""

from __future__ import annotations

import re
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.policy import Policy, default
from functools import lru_cache
from typing import Any

LIST_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")
_WORDS = re.compile(r"[!-~]+(?: [!-~]+)*")
MAX_LINE = 998  # RFC 5322 §2.1.1


class ListHeader(UnstructuredHeader, BaseHeader):
    """A list header (ASCII URIs in angle brackets, RFC 2369): folded only at whitespace."""

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        """Printable ASCII words (every URI list we write) read as themselves: no parse."""
        if _WORDS.fullmatch(value) and "=?" not in value:
            kwds["parse_tree"], kwds["decoded"] = None, value  # fold() needs no tree for ASCII
            return
        super().parse(value, kwds)

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii():  # not a URI list: let the standard folder encode it
            return super().fold(policy=policy)
        limit = policy.max_line_length or MAX_LINE
        lines, line, empty = [], f"{self.name}:", True
        for word in value.split():
            if not empty and len(line) + 1 + len(word) > limit:
                lines.append(line)
                line = ""
            line, empty = f"{line} {word}", False
        lines.append(line)
        if any(len(text) > MAX_LINE for text in lines):
            raise ValueError(f"{self.name} has a word longer than {MAX_LINE} characters.")
        return policy.linesep.join(lines) + policy.linesep


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in LIST_HEADERS:
        registry.map_to_type(name, ListHeader)
    return registry


_REGISTRY = _registry()
MAIL_POLICY = default.clone(header_factory=_REGISTRY)
"""The policy every outgoing message is built with: the standard one, list headers as above."""
LIST_HEADER_TYPE: type[BaseHeader] = _REGISTRY["list-unsubscribe"]
"""The class MAIL_POLICY gives list headers (its registry makes a new class at each call)."""


class PrefoldedHeader(str):
    """A header we folded ourselves: written as folded, read as its value.

    For a value the standard folder breaks right after the colon (a Message-ID longer than the
    rest of the line): stored raw, as the parser stores what it reads, that break would reach
    readers as a leading blank. Its fold ignores the policy's line length (ours is 78 columns,
    within any policy's) and takes its line separator.
    """

    name: str
    lines: tuple[str, ...]

    def __new__(cls, name: str, value: str, lines: tuple[str, ...]) -> PrefoldedHeader:
        header = super().__new__(cls, value)
        header.name, header.lines = name, lines
        return header

    def __getnewargs__(self) -> tuple[Any, ...]:  # copy and pickle rebuild it from these
        return (self.name, str(self), self.lines)

    def fold(self, *, policy: Policy) -> str:
        return policy.linesep.join(self.lines) + policy.linesep


class _FoldedOnce(BaseHeader):
    """A header object every message shares: parsed once, folded once per kind of policy."""

    def fold(self, *, policy: Policy) -> str:
        key = (policy.linesep, policy.max_line_length, getattr(policy, "utf8", False))
        folds: dict[tuple[object, ...], str] = self.__dict__.setdefault("_folds", {})
        folded = folds.get(key)
        if folded is None:
            folded = folds[key] = super().fold(policy=policy)
        return folded


@lru_cache(maxsize=64)
def shared_header(name: str, value: str) -> BaseHeader:
    """``name: value`` as the header object ``MAIL_POLICY`` would make, shared by every message
    that carries it (a part's Content-Type, the sender): header objects are immutable, and
    flattening a message reads each part's Content-Type three times, parsing raw text each
    time, and folds every header object anew."""
    base = _REGISTRY[name]
    header_class = type(f"Shared{base.__name__}", (_FoldedOnce, base), {})
    header: BaseHeader = header_class(name, value)
    return header
