"""A test certificate authority for PayPal's webhook certificates: a root (what the gateway is
told to trust), an intermediate, and leaves issued like PayPal's (web PKI profile, the
``messageverificationcerts`` name), so the adapter verifies real chains in the tests."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SANDBOX_NAME = "messageverificationcerts.sandbox.paypal.com"


@dataclass(frozen=True)
class Authority:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ca(name: str, key: rsa.RSAPrivateKey, issuer: Authority | None) -> x509.Certificate:
    now = datetime.now(UTC)
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer.certificate.subject if issuer else _name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def authority(name: str, issuer: Authority | None = None) -> Authority:
    key = _key()
    return Authority(key, _ca(name, key, issuer))


@functools.cache
def root() -> Authority:
    """The test root CA: the only certificate the tests' PayPal gateways trust."""
    return authority("Spirit Tours Test Root CA")


@functools.cache
def intermediate() -> Authority:
    return authority("Spirit Tours Test Issuing CA", root())


def trust_store(directory: Path) -> Path:
    """The root as a PEM file, for ``SPIRIT_PAYPAL_TRUST_STORE``."""
    path = directory / "paypal-test-roots.pem"
    path.write_bytes(root().certificate.public_bytes(serialization.Encoding.PEM))
    return path


def leaf_pem(
    key: rsa.RSAPrivateKey,
    *,
    valid_from: datetime,
    valid_to: datetime,
    name: str = SANDBOX_NAME,
    issuer: Authority | None = None,
    self_signed: bool = False,
) -> bytes:
    """What PayPal serves at its cert URL: the signing certificate (for ``key``, named
    ``name``) followed by its intermediate. By default issued under the test root."""
    ca = issuer or intermediate()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name) if self_signed else ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if not self_signed:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    leaf = builder.sign(key if self_signed else ca.key, hashes.SHA256())
    chain = [leaf] if self_signed else [leaf, ca.certificate]
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
