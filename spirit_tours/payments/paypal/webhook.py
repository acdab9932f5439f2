"""PayPal's webhooks, verified offline with PayPal's self-verification scheme (RSA-SHA256 over
the transmission id, time, webhook id and CRC32 of the body) against the certificate PayPal
points to. That certificate is fetched only over https from PayPal's API hosts of the
configured environment at the path PayPal documents (``/v1/notifications/certs/<id>``), and
trusted only when it is currently valid, names PayPal's message verification host
(``messageverificationcerts[.sandbox].paypal.com``) and chains, through the intermediates
served with it, to a trusted root: certifi's public roots, or the store given to the gateway
(``SPIRIT_PAYPAL_TRUST_STORE``; the tests use their own CA)."""

from __future__ import annotations

import base64
import functools
import logging
import re
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from spirit_tours.core.clock import now_utc
from spirit_tours.payments.gateway import InvalidSignatureError, ProviderUnavailableError
from spirit_tours.payments.paypal.mapping import JSON, PAYPAL, json_object, text_of

logger = logging.getLogger(__name__)

_SIGNATURE_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
_SIGNATURE_ALGORITHM = "SHA256withRSA"
# Where PayPal serves its webhook certificates, and the name they carry, per environment.
_CERT_HOSTS = {
    True: frozenset({"api.sandbox.paypal.com", "api-m.sandbox.paypal.com"}),
    False: frozenset({"api.paypal.com", "api-m.paypal.com"}),
}
_CERT_NAMES = {
    True: "messageverificationcerts.sandbox.paypal.com",
    False: "messageverificationcerts.paypal.com",
}
_CERT_PATH = re.compile(r"/v1/notifications/certs/[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
_CERT_CACHE_SIZE = 16


_PEM_END = b"-----END CERTIFICATE-----"


@functools.cache
def _public_roots() -> tuple[x509.Certificate, ...]:
    """certifi's root certificates (Mozilla's), loaded once per process. One at a time: a
    bundle root cryptography finds irregular (an old negative serial) is skipped, not fatal."""
    roots = []
    for block in Path(certifi.where()).read_bytes().split(_PEM_END)[:-1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                roots.append(x509.load_pem_x509_certificate(block + _PEM_END))
            except ValueError:
                logger.warning("skipped an unreadable root certificate of certifi's bundle")
    return tuple(roots)


def load_trust_roots(path: str) -> list[x509.Certificate]:
    """The root certificates of a PEM file (``SPIRIT_PAYPAL_TRUST_STORE``)."""
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


@dataclass(frozen=True)
class _Transmission:
    """The signature headers of one webhook delivery."""

    id: str
    time: str
    signature: str
    cert_url: str
    algorithm: str


def _transmission(headers: Mapping[str, str]) -> _Transmission:
    values = [(headers.get(name) or "").strip() for name in _SIGNATURE_HEADERS]
    missing = [name for name, value in zip(_SIGNATURE_HEADERS, values, strict=True) if not value]
    if missing:
        raise InvalidSignatureError(PAYPAL, f"missing {', '.join(missing)}")
    return _Transmission(*values)


def _check_cert_url(url: str, *, sandbox: bool) -> None:
    """Only ever fetch a certificate over https from PayPal's API hosts of this environment,
    at the path PayPal documents for webhook certificates."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidSignatureError(PAYPAL, "malformed certificate URL") from error
    trusted = (
        parts.scheme == "https"
        and (parts.hostname or "").lower() in _CERT_HOSTS[sandbox]
        and port in (None, 443)
        and not parts.username
        and not parts.password
        and _CERT_PATH.fullmatch(parts.path) is not None
        and not parts.query
        and not parts.fragment
    )
    if not trusted:
        raise InvalidSignatureError(PAYPAL, f"untrusted certificate URL {url!r}")


def _transmission_time(value: str) -> datetime:
    try:
        sent_at = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidSignatureError(PAYPAL, f"bad transmission time {value!r}") from error
    return sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC)


def _check_validity(certificate: x509.Certificate) -> None:
    now = now_utc()
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise InvalidSignatureError(PAYPAL, "the signing certificate is not currently valid")


def _check_signature(certificate: x509.Certificate, signature: str, message: bytes) -> None:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSignatureError(PAYPAL, "the signing certificate has no RSA key")
    try:
        key.verify(
            base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except (ValueError, InvalidSignature) as error:
        raise InvalidSignatureError(PAYPAL, "the signature does not verify") from error


class WebhookVerifier:
    """PayPal's self-verification of one webhook: no API round trip, only the signing
    certificate, downloaded once per URL (a few cached) and checked at each use."""

    def __init__(
        self,
        webhook_id: str,
        *,
        sandbox: bool,
        tolerance_seconds: int,
        timeout_seconds: float,
        http: httpx.AsyncClient | None,
        trust_roots: Sequence[x509.Certificate] | None,
    ) -> None:
        self._webhook_id = webhook_id
        self._sandbox = sandbox
        self._trust_roots = tuple(trust_roots) if trust_roots is not None else None
        self._store: Store | None = None
        self._timeout = timeout_seconds
        self._tolerance = timedelta(seconds=tolerance_seconds)
        self._http = http
        self._owns_http = http is None
        self._certificates: dict[str, tuple[x509.Certificate, list[x509.Certificate]]] = {}

    async def aclose(self) -> None:
        """Close the certificate HTTP client, if this gateway created it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def verify(
        self, body: bytes, headers: Mapping[str, str], *, check_freshness: bool
    ) -> None:
        """Raises :class:`InvalidSignatureError` unless the delivery verifies."""
        transmission = _transmission(headers)
        if transmission.algorithm.lower() != _SIGNATURE_ALGORITHM.lower():
            raise InvalidSignatureError(PAYPAL, f"unexpected algorithm {transmission.algorithm}")
        _check_cert_url(transmission.cert_url, sandbox=self._sandbox)
        sent_at = _transmission_time(transmission.time)
        if check_freshness and abs(now_utc() - sent_at) > self._tolerance:
            raise InvalidSignatureError(PAYPAL, f"stale notification sent at {transmission.time}")
        certificate = await self._certificate(transmission.cert_url)
        message = f"{transmission.id}|{transmission.time}|{self._webhook_id}|{zlib.crc32(body)}"
        _check_signature(certificate, transmission.signature, message.encode())

    @property
    def cached_certificates(self) -> int:
        return len(self._certificates)

    async def _certificate(self, url: str) -> x509.Certificate:
        """PayPal's signing certificate, downloaded once per URL and verified at each use."""
        cached = self._certificates.get(url)
        if cached is None:
            try:
                leaf, *intermediates = x509.load_pem_x509_certificates(await self._download(url))
            except ValueError as error:
                raise InvalidSignatureError(PAYPAL, "the certificate is not PEM") from error
        else:
            leaf, intermediates = cached
        self._check_certificate(leaf, intermediates)
        if cached is None:
            if len(self._certificates) >= _CERT_CACHE_SIZE:
                self._certificates.pop(next(iter(self._certificates)))
            self._certificates[url] = (leaf, intermediates)
        return leaf

    def _check_certificate(
        self, leaf: x509.Certificate, intermediates: list[x509.Certificate]
    ) -> None:
        """Currently valid, PayPal's message verification name, chained to a trusted root."""
        _check_validity(leaf)
        name = _CERT_NAMES[self._sandbox]
        common_names = [
            str(attribute.value)
            for attribute in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
        if any(common_name != name for common_name in common_names):
            raise InvalidSignatureError(
                PAYPAL, f"the certificate is not PayPal's: it names {', '.join(common_names)}"
            )
        if self._store is None:
            self._store = Store(list(self._trust_roots or _public_roots()))
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now_utc())
            .build_server_verifier(x509.DNSName(name))
        )
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError as error:
            raise InvalidSignatureError(
                PAYPAL, f"the certificate is not issued by a trusted authority to {name}: {error}"
            ) from error

    async def _download(self, url: str) -> bytes:
        try:
            response = await self._http_client().get(url)
        except httpx.HTTPError as error:
            raise ProviderUnavailableError(PAYPAL, f"certificate download: {error!r}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailableError(PAYPAL, f"certificate download: {response.status_code}")
        if response.status_code != 200:
            raise InvalidSignatureError(PAYPAL, f"certificate download: {response.status_code}")
        return response.content

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._http


def event_of(body: bytes) -> JSON:
    """The verified body as a PayPal event (an id and a type), or InvalidSignatureError."""
    event = json_object(body)
    if event is None or not text_of(event.get("id")) or not text_of(event.get("event_type")):
        raise InvalidSignatureError(PAYPAL, "the notification is not a PayPal event")
    return event
