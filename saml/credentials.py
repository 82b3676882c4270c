"""The tenant's SAML signing credential: created on first use, private key encrypted at rest.

xmlsec1 (which pysaml2 drives) reads keys from files, so the decrypted key is written once per
process to a private temporary directory (mode 0700, files 0600) and reused.
"""

import datetime
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.db import IntegrityError, transaction

from lumoauth.encryption import decrypt_private_key, encrypt_private_key
from lumoauth.events.api import Ref, record

from .models import IdPCredential

CERTIFICATE_YEARS = 10
_files_dir: str | None = None


@dataclass(frozen=True)
class CredentialFiles:
    key_file: str
    cert_file: str
    certificate_pem: str


def _aad(tenant) -> str:
    return f"saml-idp:{tenant.pk}"


def _create(tenant) -> IdPCredential:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{tenant.slug} SAML IdP (LumoAuth)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * CERTIFICATE_YEARS))
        .sign(key, hashes.SHA256())
    )
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    credential = IdPCredential.objects.create(
        tenant=tenant,
        private_key_encrypted=encrypt_private_key(der, _aad(tenant)),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )
    record(
        "saml.credential.created",
        tenant=tenant,
        actor=Ref("system", "", "saml"),
        target=Ref("saml_credential", str(credential.pk), tenant.slug),
    )
    return credential


def credential(tenant) -> IdPCredential:
    found = IdPCredential.objects.filter(tenant=tenant).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return _create(tenant)
    except IntegrityError:  # created concurrently
        return IdPCredential.objects.get(tenant=tenant)


def _private_dir() -> str:
    global _files_dir
    if _files_dir is None or not os.path.isdir(_files_dir):
        _files_dir = tempfile.mkdtemp(prefix="lumoauth-saml-")  # mode 0700
    return _files_dir


def credential_files(tenant) -> CredentialFiles:
    """Paths of the tenant's key and certificate for pysaml2 (written on first use in this process)."""
    found = credential(tenant)
    digest = hashlib.sha256(found.certificate_pem.encode()).hexdigest()[:24]
    base = os.path.join(_private_dir(), f"{tenant.pk}-{digest}")
    key_file, cert_file = f"{base}.key", f"{base}.crt"
    if not os.path.exists(key_file):
        der = decrypt_private_key(bytes(found.private_key_encrypted), _aad(tenant))
        pem = serialization.load_der_private_key(der, password=None).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(key_file + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.replace(key_file + ".tmp", key_file)
    if not os.path.exists(cert_file):
        with open(cert_file, "w") as handle:
            handle.write(found.certificate_pem)
    return CredentialFiles(key_file, cert_file, found.certificate_pem)


def certificate_body(pem: str) -> str:
    """The base64 body of a PEM certificate, as metadata's <ds:X509Certificate> wants it."""
    return "".join(line for line in pem.strip().splitlines() if "CERTIFICATE" not in line)


def xmlsec_available() -> bool:
    return shutil.which("xmlsec1") is not None
