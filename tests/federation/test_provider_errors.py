"""Error paths against an OpenID Provider built with Authlib's authorization server over HTTP: forged
signature, wrong audience/issuer/nonce, expired token, replayed state, provider errors, mix-up (RFC
9207), userinfo for someone else. Each one shows a page, writes an audit event, creates nothing."""

from types import SimpleNamespace

import pytest
import requests
from django.core.exceptions import ValidationError

from lumoauth.events.models import AuditEvent
from oauth.federation import client_secret
from oauth.federation.models import OIDCConnection
from oauth.federation.services import create_connection, refresh_metadata
from tenants.models import FederatedIdentity, User
from tests.browser import Browser

from .authlib_provider import AuthlibProvider
from .conftest import callback_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def corp(live_server, tenant, loopback_outbound, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # Authlib refuses plain http otherwise
    provider = AuthlibProvider().start()
    client = provider.register_client(callback_url(live_server, tenant, "corp"))
    connection = create_connection(
        tenant,
        slug="corp",
        name="Corp ID",
        preset="custom",
        issuer=provider.issuer,
        client_id=client.client_id,
        client_secret=client.client_secret,
        group_claim="groups",
        group_mapping={"admins": "Administrators"},
    )
    yield SimpleNamespace(provider=provider, client=client, connection=connection, base=live_server.url)
    provider.stop()


def sign_in(corp, browser=None):
    """(browser, callback URL, final response): start at Acme, pass the provider, come back."""
    browser = browser or Browser(corp.base)
    start = browser.go(f"{corp.base}/t/acme/federation/oidc/corp/login?next=/t/acme/account")
    assert start.is_redirect and start.headers["Location"].startswith(f"{corp.provider.issuer}/authorize?")
    answer = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["Location"]
    assert callback.startswith(f"{corp.base}/t/acme/federation/oidc/corp/callback?")
    return browser, callback, browser.go(callback)


def assert_refused(response, tenant, reason, text="could not be verified"):
    assert response.status_code == 400, response.text[:300]
    assert text in response.text and "Back to sign-in" in response.text
    assert not User.objects.filter(tenant=tenant).exists()
    assert not FederatedIdentity.objects.filter(tenant=tenant).exists()
    failure = AuditEvent.objects.filter(tenant=tenant, action="login.failed").latest("id")
    assert failure.outcome == "failure"
    assert failure.details == {"method": "oidc", "reason": reason, "connection": "corp"}


def test_sign_in_with_pkce_nonce_and_userinfo(corp, tenant):
    _, _, page = sign_in(corp)
    assert page.status_code == 200 and page.url == f"{corp.base}/t/acme/account"
    sent = corp.provider.authorization_requests[0]
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert sent["nonce"] and sent["state"] and sent["scope"] == "openid email profile"
    user = User.objects.get(tenant=tenant)
    assert (user.email, user.given_name, user.email_verified) == ("carol@corp.example", "Carol", True)
    assert list(user.directory_groups.values_list("name", flat=True)) == ["Administrators"]  # "staff" is unmapped
    assert FederatedIdentity.objects.get(user=user).subject == "u-1001"


@pytest.mark.parametrize(
    "defect, reason",
    [
        ("bad_signature", "id_token_bad_signature"),
        ("wrong_audience", "id_token_wrong_audience"),
        ("extra_audience", "id_token_wrong_audience"),
        ("wrong_issuer", "id_token_wrong_issuer"),
        ("wrong_nonce", "id_token_wrong_nonce"),
        ("expired", "id_token_expired"),
    ],
)
def test_id_token_defects_are_refused(corp, tenant, defect, reason):
    corp.provider.defect = defect
    _, _, page = sign_in(corp)
    assert_refused(page, tenant, reason)


def test_provider_error_response_is_shown_and_recorded(corp, tenant):
    corp.provider.deny = True
    _, callback, page = sign_in(corp)
    assert "error=access_denied" in callback
    assert_refused(page, tenant, "provider_error:access_denied", text="The sign-in was cancelled.")
    assert corp.provider.token_calls == 0


def test_replayed_or_foreign_state_is_refused(corp, tenant):
    browser, callback, page = sign_in(corp)
    assert page.status_code == 200
    again = browser.go(callback)  # the same answer, once more
    assert again.status_code == 400 and "expired or was already used" in again.text
    stranger = Browser(corp.base).go(callback)  # another browser presenting it
    assert stranger.status_code == 400
    assert User.objects.filter(tenant=tenant).count() == 1
    reasons = list(AuditEvent.objects.filter(action="login.failed").values_list("details__reason", flat=True))
    assert reasons == ["invalid_state", "invalid_state"]
    assert corp.provider.token_calls == 1  # a replay never reaches the token endpoint


def test_token_endpoint_error(corp, tenant):
    browser = Browser(corp.base)
    start = browser.go(f"{corp.base}/t/acme/federation/oidc/corp/login")
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    corp.provider.codes.clear()  # the provider no longer knows the code
    assert_refused(browser.go(callback), tenant, "token_error:invalid_grant", text="did not complete the sign-in")


def test_userinfo_about_someone_else_is_refused(corp, tenant):
    corp.provider.userinfo_sub = "u-666"
    _, _, page = sign_in(corp)
    assert_refused(page, tenant, "userinfo_subject_mismatch")


def test_unreachable_keys(corp, tenant):
    corp.provider.jwks_status = 503
    _, _, page = sign_in(corp)
    assert_refused(page, tenant, "jwks_unavailable", text="keys could not be fetched")


def test_rotated_provider_key_is_fetched_again(corp, tenant):
    assert sign_in(corp)[2].status_code == 200  # the k1 key set is now cached
    corp.provider.rotate_key()
    assert sign_in(corp)[2].status_code == 200  # signed with k2: one fresh JWKS fetch
    assert AuditEvent.objects.filter(tenant=tenant, action="login.succeeded").count() == 2


def test_issuer_parameter_mix_up_defence(corp, tenant):
    corp.provider.send_iss = corp.provider.issuer
    connection = refresh_metadata(corp.connection)
    assert connection.authorization_response_iss is True
    assert sign_in(corp)[2].status_code == 200
    corp.provider.send_iss = "https://impostor.example"  # RFC 9207 §2.4
    _, _, page = sign_in(corp)
    assert page.status_code == 400
    assert AuditEvent.objects.filter(action="login.failed", details__reason="iss_mismatch").exists()


def test_bad_callbacks_never_break(corp, tenant):
    session = requests.Session()
    base = f"{corp.base}/t/acme/federation/oidc/corp/callback"
    for query in (
        "",
        "?code=x",
        "?state=",
        "?state=" + "s" * 5000,
        "?error=access_denied",
        "?state=%00",
        "?state=é&code=ü",
    ):
        answer = session.get(base + query, allow_redirects=False, timeout=10)
        assert answer.status_code == 400, (query, answer.status_code)
    assert session.post(base, data={"state": "x"}, timeout=10).status_code in (403, 405)
    assert not User.objects.filter(tenant=tenant).exists()


def test_client_secret_is_encrypted_at_rest_and_bound_to_its_connection(corp, tenant):
    stored = bytes(OIDCConnection.objects.get(pk=corp.connection.pk).client_secret_encrypted)
    assert corp.client.client_secret.encode() not in stored
    assert client_secret.unseal(corp.connection) == corp.client.client_secret
    # Copied onto another connection's row, the ciphertext does not decrypt: a page, not a 500.
    OIDCConnection.objects.filter(pk=corp.connection.pk).update(slug="corp2")
    moved = OIDCConnection.objects.get(pk=corp.connection.pk)
    with pytest.raises(client_secret.SecretUnavailable):
        client_secret.unseal(moved)
    OIDCConnection.objects.filter(pk=corp.connection.pk).update(slug="corp")
    # A secret that no longer decrypts (e.g. another key-encryption key) makes a page, not a 500.
    OIDCConnection.objects.filter(pk=corp.connection.pk).update(
        client_secret_encrypted=stored[:-1] + bytes([stored[-1] ^ 1])
    )
    _, _, page = sign_in(corp)
    assert_refused(page, tenant, "client_secret_unavailable", text="misconfigured")
    assert corp.provider.token_calls == 0


def test_discovery_document_must_name_the_issuer(corp, tenant, other_tenant):
    with pytest.raises(ValidationError) as refused:
        create_connection(
            other_tenant,
            slug="x",
            name="X",
            preset="custom",
            issuer=corp.provider.issuer + "/other",  # its document names another issuer
            client_id="c",
            client_secret="s",
        )
    assert "names another issuer" in " ".join(refused.value.message_dict["issuer"])
    with pytest.raises(ValidationError):
        create_connection(
            other_tenant,
            slug="y",
            name="Y",
            preset="custom",
            issuer="http://op.example",
            client_id="c",
            client_secret="s",
        )
