"""The outgoing MIME message, assembled from parts we made ourselves.

``EmailMessage.__setitem__`` and ``set_content`` parse every header they are handed (even one
just generated) and quoted-printable encode bodies in pure Python: most of the time composing a
newsletter went there. Here each header is stored as the standard library's own parser stores
what it reads (``Message.set_raw``), folded to 78 columns beforehand, and bodies are encoded by
the C codecs (``binascii``) with the transfer encoding ``set_content`` would choose. The result
is an ordinary ``EmailMessage``: a header is parsed when someone reads it, flattening writes it
as stored. Values that are not plain ASCII on one line take the standard route (parsed and
folded once, cached), so RFC 2047 subjects and display names are the standard library's.
tests/test_email_mime.py parses the bytes back and compares every header and part with what
the standard route produces.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from email import quoprimime
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import BaseHeader
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import _has_surrogates  # type: ignore[attr-defined]  # the generator's own test
from functools import lru_cache
from typing import TYPE_CHECKING

from spirit_tours.emails.headers import (
    LIST_HEADER_TYPE,
    MAIL_POLICY,
    PrefoldedHeader,
    shared_header,
)

MAX_LINE = 78  # RFC 5322's recommended limit, and the standard folder's
# Bytes quoted-printable writes as themselves (quoprimime's body map): the others take three.
_QP_LITERAL = bytes(b for b in range(128) if chr(b).isprintable() and b != ord("=")) + b"\t\r\n"

_PLAIN = re.compile(r"[!-~](?:[ -~]*[!-~])?")  # printable ASCII, no blank at either end
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_SIMPLE_ADDRESS = re.compile(rf"{_ADDR_SPEC}|{_ATOM}(?: {_ATOM})* <{_ADDR_SPEC}>")
_SIMPLE_MESSAGE_ID = re.compile(rf"<{_ADDR_SPEC}>")
BARE_ADDRESS = re.compile(_ADDR_SPEC)  # local@domain of dot-atoms: what an envelope carries
_RFC2045_WORD = r"[A-Za-z0-9!#$&^_.+-]+"
_MIME_TYPE = re.compile(rf"{_RFC2045_WORD}/{_RFC2045_WORD}")
_SIMPLE_FILENAME = re.compile(r"[A-Za-z0-9._-]+")
_LINE_BREAK = re.compile(r"[\r\n]")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def _header(name: str, value: str, simple: re.Pattern[str]) -> str:
    """What to store for ``name: value``: the text itself when it is simple and fits on the
    header's line, else the standard library's parse and fold (cached: senders, subjects)."""
    if simple.fullmatch(value) and "=?" not in value and len(name) + 2 + len(value) <= MAX_LINE:
        return value
    return _folded(name, value)


@lru_cache(maxsize=1024)
def _folded(name: str, value: str) -> str:
    header: BaseHeader = MAIL_POLICY.header_store_parse(name, value)[1]  # line breaks: ValueError
    if _LINE_BREAK.search(str(header)):  # an encoded word of CR LF, decoded by the parser
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    folded = header.fold(policy=MAIL_POLICY)
    lines = folded.splitlines()
    if not folded.isascii() or any(len(line) > MAX_LINE for line in lines):
        return header  # flattened as the standard route does (an address in UTF-8, a long word)
    if not lines[0][len(name) + 1 :].strip():  # folded right after the colon
        return PrefoldedHeader(name, str(header), tuple(lines))
    raw: str = MAIL_POLICY.header_source_parse(folded.splitlines(keepends=True))[1]
    return raw


def _subject(value: str) -> str:
    """The subject as stored. Text holding ``=?`` is sent as encoded words of its own, which
    decode to exactly that text: given to the standard parser, a value such as a client's
    destination ``=?utf-8?q?=0D=0ABcc:…?=`` would be decoded as an encoded word, and Python
    before 3.11.10 writes the CR LF it decodes raw (a forged header, a forged body)."""
    if "=?" not in value:
        return _header("Subject", value, _PLAIN)
    return _literal_words("Subject", value)


@lru_cache(maxsize=1024)
def _literal_words(name: str, value: str) -> str:
    if _LINE_BREAK.search(value):
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    encoded = Header(value, "utf-8", maxlinelen=MAX_LINE, header_name=name).encode(linesep="\n")
    lines = f"{name}: {encoded}\n".splitlines(keepends=True)
    raw: str = MAIL_POLICY.header_source_parse(lines)[1]
    if str(MAIL_POLICY.header_fetch_parse(name, raw)) != value:  # reads back exactly, or refused
        raise ValueError(f"The {name} header cannot carry {value!r} exactly.")
    return raw


def _sender(value: str) -> str:
    """The sender: the same for every message, so one shared, already parsed header object
    (what delivery reads to find the envelope sender)."""
    if _SIMPLE_ADDRESS.fullmatch(value) and "=?" not in value:
        return shared_header("From", value)
    return _folded("From", value)


def _message_id(value: str) -> str:
    name = "Message-ID"
    if _SIMPLE_MESSAGE_ID.fullmatch(value) and len(name) + 2 + len(value) > MAX_LINE >= len(value):
        return PrefoldedHeader(name, value, (f"{name}:", f" {value}"))  # as the folder puts it
    return _header(name, value, _SIMPLE_MESSAGE_ID)


def _random_boundary() -> str:
    return f"==============={secrets.randbelow(sys.maxsize):019d}=="  # the stdlib's form


# One boundary per kind of multipart for the whole process, so that each Content-Type is one
# shared header object (``shared_header``); RFC 2046 asks only that a boundary appear in none
# of the parts it separates, so a message whose text contains it gets a random one.
_PROCESS_BOUNDARIES = {"alternative": _random_boundary(), "mixed": _random_boundary()}


def _multipart_type(subtype: str, avoid: Sequence[str]) -> tuple[str, str]:
    """The Content-Type to store for a multipart, and its boundary."""
    boundary = _PROCESS_BOUNDARIES[subtype]
    if not any(boundary in text for text in avoid):
        return shared_header(
            "Content-Type", f'multipart/{subtype}; boundary="{boundary}"'
        ), boundary
    while any(boundary in text for text in avoid):
        boundary = _random_boundary()
    value = f'multipart/{subtype}; boundary="{boundary}"'
    if len("Content-Type: ") + len(value) > MAX_LINE:
        value = f'multipart/{subtype};\n boundary="{boundary}"'
    return value, boundary


def encode_text(text: str) -> tuple[str, str]:
    """``(Content-Transfer-Encoding, payload)`` for UTF-8 text, chosen by ``set_content``'s rule:
    7bit or 8bit when every line fits, else quoted-printable unless base64 is shorter."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max(map(len, lines), default=0) <= MAX_LINE:
        if body.isascii():
            return "7bit", body.decode("ascii")
        return "8bit", body.decode("ascii", "surrogateescape")
    if _base64_is_shorter(lines[:10]):
        return "base64", base64.encodebytes(body).decode("ascii")
    return "quoted-printable", binascii.b2a_qp(body).decode("ascii")


def _base64_is_shorter(lines: list[bytes]) -> bool:
    """``set_content``'s test on the first lines: is their quoted-printable form longer than
    their base64 form? An upper bound of the quoted-printable length (each byte to escape takes
    two more characters, each soft line break two, a blank ending a line at most four) answers
    "no" for nearly all mail; the exact encoding, in pure Python, runs only when it cannot."""
    sniff = b"\n".join(lines) + b"\n"
    base64_length = 4 * -(-len(sniff) // 3) + 1
    bound = len(lines)  # the line ends
    for line in lines:
        escaped = len(line) + 2 * len(line.translate(None, _QP_LITERAL))
        breaks = 0 if escaped <= MAX_LINE else (escaped - MAX_LINE - 1) // (MAX_LINE - 3) + 1
        bound += escaped + 2 * breaks + (4 if line.endswith((b" ", b"\t")) else 0)
    if bound <= base64_length:
        return False
    return len(quoprimime.body_encode(sniff.decode("latin-1"), MAX_LINE)) > base64_length


if TYPE_CHECKING:
    _Parts = list[Message[str, str] | str]  # a multipart's payload, as typeshed spells it


def _part(headers: Sequence[tuple[str, str]], payload: str | _Parts) -> EmailMessage:
    part = EmailMessage(policy=MAIL_POLICY)
    for name, value in headers:
        part.set_raw(name, value)
    part.set_payload(payload)
    return part


def _attachment(attachment: Attachment) -> EmailMessage:
    maintype, _, subtype = attachment.mimetype.partition("/")
    if not maintype or not subtype:
        raise ValueError(f"Invalid attachment MIME type {attachment.mimetype!r}.")
    if _MIME_TYPE.fullmatch(attachment.mimetype) and _SIMPLE_FILENAME.fullmatch(
        attachment.filename
    ):
        disposition = f'attachment; filename="{attachment.filename}"'
        if len("Content-Disposition: ") + len(disposition) <= MAX_LINE:
            return _part(
                [
                    ("Content-Type", attachment.mimetype.lower()),
                    ("Content-Transfer-Encoding", "base64"),
                    ("Content-Disposition", disposition),
                ],
                base64.encodebytes(attachment.content).decode("ascii"),
            )
    part = EmailMessage(policy=MAIL_POLICY)  # any other name or type: the standard route
    part.set_content(
        attachment.content,
        maintype=maintype,
        subtype=subtype,
        disposition="attachment",
        filename=attachment.filename,
    )
    del part["MIME-Version"]
    return part


def assemble(
    *,
    subject: str,
    sender: str,
    to: str,
    date: str,
    message_id: str,
    unsubscribe_url: str | None,
    language: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """Text and HTML alternatives (then attachments), with RFC 8058 list headers when an
    unsubscribe URL is given; header values must not contain line breaks (ValueError)."""
    message = EmailMessage(policy=MAIL_POLICY)
    message.set_raw("Subject", _subject(subject))
    message.set_raw("From", _sender(sender))
    message.set_raw("To", _header("To", to, _SIMPLE_ADDRESS))
    message.set_raw("Date", _header("Date", date, _PLAIN))
    message.set_raw("Message-ID", _message_id(message_id))
    if unsubscribe_url is not None:
        # An object of its own type: it keeps the URI whole whatever policy flattens it.
        value = f"<{unsubscribe_url}>"
        if len(value.splitlines()) > 1:
            raise ValueError("Header values may not contain linefeed or carriage return characters")
        message.set_raw("List-Unsubscribe", LIST_HEADER_TYPE("List-Unsubscribe", value))
        message.set_raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    message.set_raw("MIME-Version", "1.0")
    text_encoding, text_payload = encode_text(text)
    html_encoding, html_payload = encode_text(html)
    body: _Parts = [
        _part(
            [("Content-Type", shared_header("Content-Type", 'text/plain; charset="utf-8"')),
             ("Content-Transfer-Encoding", text_encoding)],
            text_payload,
        ),
        _part(
            [("Content-Type", shared_header("Content-Type", 'text/html; charset="utf-8"')),
             ("Content-Transfer-Encoding", html_encoding)],
            html_payload,
        ),
    ]  # fmt: skip
    content_type, boundary = _multipart_type("alternative", (text_payload, html_payload))
    if attachments:
        alternative = _part([("Content-Type", content_type)], body)
        mixed: _Parts = [alternative, *(_attachment(attachment) for attachment in attachments)]
        content_type, _ = _multipart_type("mixed", (text_payload, html_payload, boundary))
        message.set_raw("Content-Type", content_type)
        message.set_payload(mixed)
    else:
        message.set_raw("Content-Type", content_type)
        message.set_payload(body)
    message.set_raw("Content-Language", _header("Content-Language", language, _PLAIN))
    return message


_LINE_ENDS = re.compile(r"\r\n|\r|\n")  # what the standard generator splits lines on


def flatten(message: EmailMessage, policy: EmailPolicy[EmailMessage]) -> bytes:
    """The bytes ``email.generator.BytesGenerator`` writes for ``message`` under ``policy``
    (what aiosmtplib sends), without its per-line writes: each header folded by the policy as
    the generator folds it, each body's line ends replaced at once. A message of a shape this
    does not cover (a body that must be re-encoded for a 7-bit server, a preamble, a message
    part) is written by the generator itself. tests/test_email_mime.py compares the two for
    every template, locale and server."""
    if policy.mangle_from_ or not policy.linesep:
        return _generated(message, policy)
    chunks: list[bytes] = []
    if not _flatten_into(message, policy, chunks):
        return _generated(message, policy)
    return b"".join(chunks)


def _generated(message: EmailMessage, policy: EmailPolicy[EmailMessage]) -> bytes:
    with io.BytesIO() as output:
        BytesGenerator(output, policy=policy).flatten(message)
        return output.getvalue()


def _flatten_into(
    message: EmailMessage, policy: EmailPolicy[EmailMessage], chunks: list[bytes]
) -> bool:
    """Append the part's bytes to ``chunks``; False (``chunks`` then undefined) if the part is
    one the generator must write."""
    for name, value in message.raw_items():
        chunks.append(policy.fold_binary(name, value))
    newline = policy.linesep
    newline_bytes = newline.encode("ascii")
    chunks.append(newline_bytes)
    maintype = message.get_content_maintype()
    # The stored payload, as the generator reads it (get_payload would decode 8-bit text).
    payload: object = message.__dict__.get("_payload")
    if maintype == "multipart":
        boundary = message.get_boundary()
        if (
            not isinstance(payload, list)
            or not boundary
            or message.get_content_subtype() == "signed"
            or message.preamble is not None
            or message.epilogue is not None
        ):
            return False
        separator = f"{newline}--{boundary}{newline}".encode("ascii")
        chunks.append(separator[len(newline) :])
        for index, part in enumerate(payload):
            if index:
                chunks.append(separator)
            if not _flatten_into(part, policy, chunks):
                return False
        chunks.append(f"{newline}--{boundary}--{newline}".encode("ascii"))
        return True
    if maintype == "message" or not isinstance(payload, str):
        return False
    eight_bit = not payload.isascii()  # 8-bit text is kept as surrogates (``encode_text``)
    if eight_bit and (policy.cte_type == "7bit" or not _has_surrogates(payload)):
        return False
    if "\r" in payload:
        chunks.append(_LINE_ENDS.sub(newline, payload).encode("ascii", "surrogateescape"))
    else:  # the same, faster: only "\n" ends a line
        chunks.append(payload.encode("ascii", "surrogateescape").replace(b"\n", newline_bytes))
    return True
