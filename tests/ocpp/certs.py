"""Throw-away X.509 material for TLS tests: a CA, a server certificate, client certificates.

Everything is written as PEM into a directory the caller owns (a pytest tmp dir) and lives
for one test run only; keys are EC P-256 so generation takes milliseconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True, slots=True)
class CertFiles:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


def _name(common_name: str, organization: str = "Voltlane tests") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(
    directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> CertFiles:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return CertFiles(cert_path, key_path)


class TestCA:
    """A certificate authority that signs server and client certificates for one test run."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str = "Voltlane Test CA") -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.files = _write(directory, "ca", self._cert, self._key)

    @property
    def cert_pem(self) -> Path:
        return self.files.cert

    def _issue(
        self,
        stem: str,
        common_name: str,
        *,
        usage: x509.ObjectIdentifier,
        san: list[x509.GeneralName] | None = None,
        organization: str = "Voltlane tests",
    ) -> CertFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organization))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return _write(self.directory, stem, builder.sign(self._key, hashes.SHA256()), key)

    def server_cert(self, stem: str = "server") -> CertFiles:
        """A server certificate for 127.0.0.1 and localhost."""
        return self._issue(
            stem,
            "localhost",
            usage=ExtendedKeyUsageOID.SERVER_AUTH,
            san=[
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ],
        )

    def client_cert(
        self, common_name: str, organization: str, stem: str | None = None
    ) -> CertFiles:
        """A station certificate: CN the station id, O the brand's certificate organization."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in common_name + organization)
        return self._issue(
            stem or f"client-{safe}",
            common_name,
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            organization=organization,
        )


def client_context(ca: Path, client: CertFiles | None = None) -> ssl.SSLContext:
    """A client TLS context trusting ``ca``, presenting ``client`` when given (profile 3)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    if client is not None:
        context.load_cert_chain(client.cert, client.key)
    return context
