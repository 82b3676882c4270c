"""ID token validation rules (OIDC Core §3.1.3.7) on tokens signed here with joserfc."""

import time

import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from oauth.federation.id_token import Expected, IDTokenError, check_claims, validate_id_token

ISSUER = "https://op.example"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=True)
PUBLIC = KeySet.import_key_set({"keys": [KEY.as_dict(private=False)]})
EXPECTED = Expected(issuer=ISSUER, client_id="rp", nonce="n-1", algorithms=["RS256"])


def claims(**overrides):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "rp", "sub": "s-1", "nonce": "n-1", "iat": now, "exp": now + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(payload=None, *, key=KEY, header=None):
    return jwt.encode(header or {"alg": "RS256", "kid": key.kid}, payload or claims(), key)


def keys_of(*sets):
    calls = []

    def provider(refresh):
        calls.append(refresh)
        return sets[min(len(calls) - 1, len(sets) - 1)]

    provider.calls = calls
    return provider


def refused(reason, value, expected=EXPECTED, keys=None):
    with pytest.raises(IDTokenError) as error:
        validate_id_token(value, expected, keys or keys_of(PUBLIC))
    assert error.value.reason == reason


def test_a_valid_token_gives_its_claims():
    assert validate_id_token(token(), EXPECTED, keys_of(PUBLIC))["sub"] == "s-1"
    # aud as a list with only us; several audiences with azp = us.
    assert validate_id_token(token(claims(aud=["rp"])), EXPECTED, keys_of(PUBLIC))
    assert validate_id_token(token(claims(aud=["rp", "api"], azp="rp")), EXPECTED, keys_of(PUBLIC))


def test_signature_and_algorithm():
    refused("id_token_bad_signature", token(key=RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)))
    refused("id_token_unknown_key", token(key=OTHER))
    hmac = OctKey.import_key(b"client-secret-of-thirty-two-bytes!!")
    refused("id_token_bad_signature", jwt.encode({"alg": "HS256", "kid": "k1"}, claims(), hmac))
    # alg "none" (an unsigned token) is never accepted.
    unsigned = jws.serialize_compact({"alg": "none"}, b'{"sub":"s-1"}', None, algorithms=["none"])
    refused("id_token_bad_signature", unsigned)
    refused("id_token_malformed", "not.a.jwt")
    refused("id_token_malformed", "a.b.c.d.e")


def test_kid_may_be_left_out_only_when_the_provider_has_one_key():
    no_kid = token(header={"alg": "RS256"})
    assert validate_id_token(no_kid, EXPECTED, keys_of(PUBLIC))["sub"] == "s-1"
    two = KeySet.import_key_set({"keys": [KEY.as_dict(private=False), OTHER.as_dict(private=False)]})
    refused("id_token_unknown_key", no_kid, keys=keys_of(two))


def test_unknown_kid_refreshes_the_keys_once():
    rotated = KeySet.import_key_set({"keys": [OTHER.as_dict(private=False)]})
    provider = keys_of(PUBLIC, rotated)
    assert validate_id_token(token(key=OTHER), EXPECTED, provider)["sub"] == "s-1"
    assert provider.calls == [False, True]
    refused("jwks_unavailable", token(), keys=lambda refresh: None)


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"iss": "https://op.example/"}, "id_token_wrong_issuer"),
        ({"iss": None}, "id_token_wrong_issuer"),
        ({"aud": "other"}, "id_token_wrong_audience"),
        ({"aud": ["rp", "api"]}, "id_token_wrong_audience"),  # several audiences, no azp
        ({"aud": ["rp", "api"], "azp": "api"}, "id_token_wrong_audience"),
        ({"aud": "rp", "azp": "api"}, "id_token_wrong_audience"),
        ({"aud": None}, "id_token_wrong_audience"),
        ({"exp": int(time.time()) - 61}, "id_token_expired"),
        ({"exp": None}, "id_token_exp_missing"),
        ({"exp": "tomorrow"}, "id_token_exp_missing"),
        ({"iat": int(time.time()) + 3600}, "id_token_issued_in_future"),
        ({"nonce": "n-2"}, "id_token_wrong_nonce"),
        ({"nonce": None}, "id_token_wrong_nonce"),
        ({"sub": None}, "id_token_no_subject"),
        ({"sub": "x" * 256}, "id_token_no_subject"),
        ({"sub": 42}, "id_token_no_subject"),
    ],
)
def test_claim_rules(overrides, reason):
    with pytest.raises(IDTokenError) as error:
        check_claims(claims(**overrides), EXPECTED)
    assert error.value.reason == reason


def test_clock_skew_is_tolerated():
    assert check_claims(claims(exp=int(time.time()) - 30), EXPECTED)
    assert check_claims(claims(iat=int(time.time()) + 30), EXPECTED)


def test_entra_multi_tenant_issuer_is_checked_against_tid():
    tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    template = Expected(
        issuer="https://login.microsoftonline.com/{tenantid}/v2.0", client_id="rp", nonce="n-1", algorithms=["RS256"]
    )
    ok = claims(iss=f"https://login.microsoftonline.com/{tid}/v2.0", tid=tid)
    assert check_claims(ok, template)["tid"] == tid
    other_tid = "11111111-2222-3333-4444-555555555555"
    for bad in (
        claims(iss=f"https://login.microsoftonline.com/{tid}/v2.0", tid=other_tid),  # issuer of another directory
        claims(iss=f"https://login.microsoftonline.com/{tid}/v2.0"),  # no tid
        claims(iss="https://login.microsoftonline.com/common/v2.0", tid="common"),
    ):
        with pytest.raises(IDTokenError) as error:
            check_claims(bad, template)
        assert error.value.reason == "id_token_wrong_issuer"
    restricted = Expected(**{**template.__dict__, "allowed_tenant_ids": [other_tid]})
    with pytest.raises(IDTokenError) as error:
        check_claims(ok, restricted)
    assert error.value.reason == "id_token_tenant_not_allowed"
