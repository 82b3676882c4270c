"""Per-tenant signing keys: states, rotation, JWKS, verification, encryption at rest, isolation."""

import base64
import json
import os
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client, override_settings
from django.utils import timezone
from jwcrypto import jwk, jwt
from jwcrypto.common import JWKeyNotFound

from lumoauth.encryption import decrypt_private_key
from lumoauth.events.models import AuditEvent
from tenants.models import Tenant
from tenants.services.users import create_operator
from tenants.signing_keys.api import (
    KeyDecryptionError,
    SigningKey,
    ensure_keys,
    jwks,
    published_keys,
    rotate_keys,
    signing_key,
    verification_key,
)
from tenants.signing_keys.service import forget_cached_keys

pytestmark = pytest.mark.django_db

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    # Decrypted keys are cached per process by kid; tests that change the KEK must not see them.
    forget_cached_keys()
    yield
    forget_cached_keys()


def states(tenant) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in SigningKey.objects.filter(tenant=tenant):
        found.setdefault(key.state, []).append(key.kid)
    return found


def sign(tenant, **claims) -> str:
    material = signing_key(tenant)
    token = jwt.JWT(header={"alg": material.alg, "kid": material.kid}, claims={"sub": "alice", **claims})
    token.make_signed_token(material.jwk)
    return token.serialize()


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def verify_with_verification_key(tenant, token: str) -> dict:
    key = verification_key(tenant, kid_of(token))
    assert key is not None
    return json.loads(jwt.JWT(jwt=token, key=key).claims)


def verify_with_jwks(tenant, token: str) -> dict:
    # What a relying party does: fetch the JWKS, pick the key by kid.
    keyset = jwk.JWKSet.from_json(json.dumps(jwks(tenant)))
    return json.loads(jwt.JWT(jwt=token, key=keyset).claims)


def test_new_tenant_has_one_active_and_one_next_key(tenant):
    found = states(tenant)
    assert set(found) == {"active", "next"}
    assert len(found["active"]) == len(found["next"]) == 1
    active = SigningKey.objects.get(kid=found["active"][0])
    assert active.alg == "RS256" and active.activated_at is not None and active.retired_at is None


def test_ensure_keys_is_idempotent(tenant):
    before = states(tenant)
    assert ensure_keys(tenant).kid == before["active"][0]
    assert states(tenant) == before


def test_jwks_publishes_next_and_active_with_public_members_only(tenant):
    document = jwks(tenant)
    found = states(tenant)
    assert [k["kid"] for k in document["keys"]] == [found["active"][0], found["next"][0]]  # active first
    for member in document["keys"]:
        assert not PRIVATE_MEMBERS & set(member)
        assert member["use"] == "sig" and member["alg"] == "RS256" and member["kty"] == "RSA"
        assert set(member) == {"kty", "kid", "alg", "use", "n", "e"}
        assert len(base64.urlsafe_b64decode(member["n"] + "==")) == 256  # 2048-bit modulus


def test_rotation_promotes_next_retires_active_and_publishes_a_new_next(tenant, settings):
    settings.LUMOAUTH_SIGNED_TOKEN_MAX_LIFETIME = 3600
    before = states(tenant)
    old_active, old_next = before["active"][0], before["next"][0]
    active = rotate_keys(tenant)
    after = states(tenant)
    assert active.kid == old_next == after["active"][0] == signing_key(tenant).kid
    assert after["retiring"] == [old_active]
    assert len(after["next"]) == 1 and after["next"][0] not in (old_active, old_next)
    assert [k["kid"] for k in jwks(tenant)["keys"]] == [old_next, after["next"][0], old_active]
    retired = SigningKey.objects.get(kid=old_active)
    assert retired.unpublish_after - retired.retired_at == timedelta(seconds=3600)


def test_expired_key_leaves_jwks_and_no_longer_verifies(tenant):
    token = sign(tenant)
    old = kid_of(token)
    rotate_keys(tenant)
    assert verify_with_verification_key(tenant, token)["sub"] == "alice"  # retiring still verifies
    SigningKey.objects.filter(kid=old).update(unpublish_after=timezone.now() - timedelta(seconds=1))
    assert old not in [k["kid"] for k in jwks(tenant)["keys"]]
    assert verification_key(tenant, old) is None
    assert states(tenant)["expired"] == [old]
    assert len(published_keys(tenant)) == 2


def test_unpublished_active_key_never_signs_again(tenant):
    before = states(tenant)
    SigningKey.objects.filter(kid=before["active"][0]).update(unpublish_after=timezone.now())
    material = signing_key(tenant)  # the next key, which verifiers already have, takes over
    assert material.kid == before["next"][0]
    after = states(tenant)
    assert after["expired"] == before["active"][0:1] and len(after["next"]) == 1
    rotated = AuditEvent.objects.get(tenant=tenant, action="signing_key.rotated")
    assert rotated.details["retiring"] == before["active"][0] and rotated.details["next"] == after["next"][0]


def test_token_signed_with_active_key_verifies_before_and_after_rotation(tenant):
    before = sign(tenant, n=1)
    assert verify_with_verification_key(tenant, before)["n"] == 1
    assert verify_with_jwks(tenant, before)["n"] == 1
    rotate_keys(tenant)
    after = sign(tenant, n=2)
    assert kid_of(after) != kid_of(before)
    for token, n in ((before, 1), (after, 2)):
        assert verify_with_verification_key(tenant, token)["n"] == n
        assert verify_with_jwks(tenant, token)["n"] == n


@pytest.mark.parametrize(("alg", "kty"), [("ES256", "EC"), ("PS256", "RSA")])
def test_es256_and_ps256_keys_sign_and_verify(make_tenant, alg, kty):
    tenant = make_tenant()
    rotate_keys(tenant, alg=alg)  # the new next key has `alg`; it signs from the following rotation
    assert signing_key(tenant).alg == "RS256"
    rotate_keys(tenant)
    material = signing_key(tenant)
    assert material.alg == alg and material.jwk.has_private
    published = {k["kid"]: k for k in jwks(tenant)["keys"]}
    assert published[material.kid]["kty"] == kty and published[material.kid]["alg"] == alg
    if alg == "ES256":
        assert published[material.kid]["crv"] == "P-256"
    assert not PRIVATE_MEMBERS & set(published[material.kid])
    token = sign(tenant)
    assert verify_with_verification_key(tenant, token)["sub"] == "alice"
    assert verify_with_jwks(tenant, token)["sub"] == "alice"


def test_ensure_keys_for_a_tenant_without_keys_uses_the_given_algorithm():
    tenant = Tenant.objects.create(slug="legacy", name="Made before signing keys")
    assert not SigningKey.objects.filter(tenant=tenant).exists()
    assert ensure_keys(tenant, alg="ES256").alg == "ES256"
    assert {k.alg for k in SigningKey.objects.filter(tenant=tenant)} == {"ES256"}


def test_tenant_made_before_signing_keys_gets_them_on_first_use():
    tenant = Tenant.objects.create(slug="legacy", name="Made before signing keys")
    assert len(jwks(tenant)["keys"]) == 2
    assert signing_key(tenant).kid == states(tenant)["active"][0]


def test_keys_are_isolated_between_tenants(tenant, other_tenant):
    token = sign(tenant)
    kid = kid_of(token)
    assert verification_key(other_tenant, kid) is None
    assert kid not in [k["kid"] for k in jwks(other_tenant)["keys"]]
    with pytest.raises(JWKeyNotFound):  # the other tenant's JWKS has no key with that kid
        verify_with_jwks(other_tenant, token)
    assert verification_key(tenant, "no-such-kid") is None
    assert verification_key(tenant, "") is None


def test_private_key_is_encrypted_at_rest(tenant):
    material = signing_key(tenant)
    stored = bytes(SigningKey.objects.get(kid=material.kid).private_key_encrypted)
    private = material.jwk.get_op_key("sign")
    for encoding, fmt in (
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
    ):
        plain = private.private_bytes(encoding, fmt, serialization.NoEncryption())
        assert plain not in stored and stored not in plain
    assert b"PRIVATE KEY" not in stored
    # The secret exponent does not appear either, in any encoding we could think of.
    d = private.private_numbers().d.to_bytes(256, "big")
    assert d not in stored


def test_decryption_with_another_kek_fails(tenant):
    key = SigningKey.objects.get(tenant=tenant, activated_at__isnull=False)
    assert decrypt_private_key(key.private_key_encrypted, key.kid)  # the derived development KEK
    other = base64.urlsafe_b64encode(os.urandom(32)).decode()
    with override_settings(LUMOAUTH_KEY_ENCRYPTION_KEY=other):
        with pytest.raises(KeyDecryptionError):
            decrypt_private_key(key.private_key_encrypted, key.kid)
        with pytest.raises(KeyDecryptionError):
            signing_key(tenant)
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
        with pytest.raises(KeyDecryptionError):
            decrypt_private_key(key.private_key_encrypted, key.kid)


def test_keys_made_under_an_explicit_kek_need_it(make_tenant):
    kek = base64.urlsafe_b64encode(os.urandom(32)).decode()
    with override_settings(LUMOAUTH_KEY_ENCRYPTION_KEY=kek):
        tenant = make_tenant()
        token = sign(tenant)
    assert verify_with_jwks(tenant, token)
    forget_cached_keys()
    with pytest.raises(KeyDecryptionError):
        signing_key(tenant)  # the development KEK derived from SECRET_KEY is a different key
    with override_settings(LUMOAUTH_KEY_ENCRYPTION_KEY=kek.rstrip("=")):  # padding is optional
        assert signing_key(tenant).kid == kid_of(token)


def test_tampered_or_moved_ciphertext_fails_to_decrypt(tenant):
    active = SigningKey.objects.get(tenant=tenant, activated_at__isnull=False)
    upcoming = SigningKey.objects.get(tenant=tenant, activated_at__isnull=True)
    blob = bytearray(active.private_key_encrypted)
    blob[-1] ^= 0x01
    with pytest.raises(KeyDecryptionError):
        decrypt_private_key(bytes(blob), active.kid)
    # The kid is associated data: a ciphertext moved onto another key's row does not decrypt.
    with pytest.raises(KeyDecryptionError):
        decrypt_private_key(active.private_key_encrypted, upcoming.kid)
    SigningKey.objects.filter(pk=active.pk).update(private_key_encrypted=upcoming.private_key_encrypted)
    with pytest.raises(KeyDecryptionError):
        signing_key(tenant)
    with pytest.raises(KeyDecryptionError):
        decrypt_private_key(b"\x02" + bytes(active.private_key_encrypted)[1:], active.kid)


def test_at_most_one_active_and_one_next_key_per_tenant(tenant):
    active = SigningKey.objects.get(tenant=tenant, activated_at__isnull=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(
            tenant=tenant, alg="RS256", public_jwk={}, private_key_encrypted=b"x", activated_at=active.activated_at
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(tenant=tenant, alg="RS256", public_jwk={}, private_key_encrypted=b"x")


def test_rotatekeys_command_and_audit_events(tenant, other_tenant, capsys):
    before = states(tenant)
    call_command("rotatekeys", "acme", "--alg", "ES256")
    out = capsys.readouterr().out
    after = states(tenant)
    assert f"active: {before['next'][0]} (RS256)" in out
    assert f"next:   {after['next'][0]} (ES256)" in out
    assert f"retiring: {before['active'][0]}" in out
    events = AuditEvent.objects.filter(tenant=tenant, action__startswith="signing_key.")
    created = events.filter(action="signing_key.created")
    expected = {before["active"][0], before["next"][0], after["next"][0]}
    assert set(created.values_list("target_id", flat=True)) == expected
    rotated = events.get(action="signing_key.rotated")
    assert rotated.target_id == before["next"][0] and rotated.actor_label == "manage.py rotatekeys"
    assert rotated.details["retiring"] == before["active"][0] and rotated.details["next"] == after["next"][0]
    assert not AuditEvent.objects.filter(tenant=other_tenant, action="signing_key.rotated").exists()
    assert AuditEvent.objects.filter(tenant=other_tenant, action="signing_key.created").count() == 2


def test_rotatekeys_refuses_unknown_tenant_and_bad_alg(tenant):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("rotatekeys", "nope")
    with pytest.raises(CommandError):
        call_command("rotatekeys", "acme", "--alg", "HS256")
    assert "retiring" not in states(tenant)


def test_rotate_keys_rejects_unsupported_algorithm(tenant):
    with pytest.raises(ValueError, match="unsupported"):
        rotate_keys(tenant, alg="none")


def test_admin_lists_keys_without_private_material(client, tenant):
    create_operator("root", email="root@platform.example", password="operator-password-1")
    assert client.post("/admin/login/", {"username": "root", "password": "operator-password-1"}).status_code == 302
    key = SigningKey.objects.get(tenant=tenant, activated_at__isnull=False)
    listing = client.get("/admin/tenants/signingkey/")
    assert listing.status_code == 200 and key.kid.encode() in listing.content
    detail = client.get(f"/admin/tenants/signingkey/{key.pk}/change/")
    assert detail.status_code == 200
    assert b"private_key_encrypted" not in detail.content and b"Private key encrypted" not in detail.content
    assert client.get("/admin/tenants/signingkey/add/").status_code == 403
    assert Client().get("/admin/tenants/signingkey/").status_code == 302
