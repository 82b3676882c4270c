"""The device authorization grant (RFC 8628) over real HTTP: requests and Authlib as the device, the
user-code page in headless Chromium (Playwright) or driven with requests, tokens verified by joserfc
against the published JWKS."""

import re
from datetime import timedelta
from urllib.parse import urljoin

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone

from lumoauth.events.models import AuditEvent
from oauth.models import AuthMethod, Client, DeviceGrant, GrantType
from tests.browser import PASSWORD
from tests.portal.conftest import chromium, screenshot  # noqa: F401 (the shared headless Chromium fixture)

from .conftest import verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


@pytest.fixture
def device_endpoint(issuer):
    return f"{issuer}/oauth/device_authorization"


@pytest.fixture
def tv_client(tenant, make_client):
    """A public device client (a TV app or a CLI): no secret, no redirect URI."""
    return make_client(
        tenant,
        "Living-room TV",
        client_type=Client.CLIENT_PUBLIC,
        grant_types=[GrantType.DEVICE_CODE, GrantType.REFRESH_TOKEN],
        token_endpoint_auth_method=AuthMethod.NONE,
        redirect_uris=[],
        allowed_scopes="openid profile email offline_access",
    )


def start(device_endpoint, client, scope="openid profile offline_access", **kwargs):
    auth = (client.client_id, client.secret) if client.secret else None
    data = {"scope": scope} if auth else {"client_id": client.client_id, "scope": scope}
    answer = requests.post(device_endpoint, data=data, auth=auth, timeout=10, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()


def poll(endpoints, client, device_code):
    auth = (client.client_id, client.secret) if client.secret else None
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code}
    if not auth:
        data["client_id"] = client.client_id
    return requests.post(endpoints["token"], data=data, auth=auth, timeout=10)


def assert_error(answer, error, status=400):
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.json()["error"] == error
    assert answer.headers["Cache-Control"] == "no-store"


class DevicePage:
    """The user-code page driven with requests: sign in through the hosted page, enter the code,
    decide."""

    def __init__(self, base_url):
        self.base_url, self.session = base_url, requests.Session()

    def csrf(self, html):
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def open(self, url, username="alice"):
        page = self.session.get(url, timeout=10)
        if 'name="password"' in page.text:
            next_url = re.search(r'name="next" value="([^"]*)"', page.text).group(1).replace("&amp;", "&")
            page = self.session.post(
                page.url,
                data={
                    "identifier": username,
                    "password": PASSWORD,
                    "next": next_url,
                    "csrfmiddlewaretoken": self.csrf(page.text),
                },
                headers={"Referer": page.url},
                timeout=10,
            )
        return page

    def enter(self, page, user_code, **extra):
        return self.session.post(
            page.url,
            data={"user_code": user_code, "csrfmiddlewaretoken": self.csrf(page.text), **extra},
            headers={"Referer": page.url},
            timeout=10,
        )

    def decide(self, url, user_code, decision):
        page = self.open(url)
        confirm = self.enter(page, user_code)
        assert 'name="decision"' in confirm.text, confirm.text[:500]
        return self.enter(confirm, user_code, decision=decision)


def test_discovery_lists_the_device_endpoint_and_grant(endpoints, issuer):
    document = requests.get(endpoints["discovery"], timeout=10).json()
    assert document["device_authorization_endpoint"] == f"{issuer}/oauth/device_authorization"
    assert DEVICE_GRANT in document["grant_types_supported"]


@pytest.fixture
def browser_page(chromium):  # noqa: F811
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def test_device_flow_end_to_end_in_a_browser(
    browser_page, live_server, endpoints, issuer, device_endpoint, tv_client, alice
):
    started = start(device_endpoint, tv_client)
    assert USER_CODE.match(started["user_code"])
    assert started["verification_uri"] == f"{live_server.url}/t/acme/device"
    assert started["verification_uri_complete"] == f"{started['verification_uri']}?user_code={started['user_code']}"
    assert started["expires_in"] == 600 and started["interval"] == 5
    assert len(started["device_code"]) >= 43
    # Only the hash of the device code is stored.
    assert not DeviceGrant.objects.filter(device_code=started["device_code"]).exists()

    # Before the person decides: authorization_pending (RFC 8628 §3.5).
    assert_error(poll(endpoints, tv_client, started["device_code"]), "authorization_pending")

    page = browser_page
    page.goto(started["verification_uri_complete"])
    page.fill("input[name=identifier]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/device?user_code=*")
    assert page.input_value("input[name=user_code]") == started["user_code"]
    page.click("button[type=submit]")
    assert page.inner_text("#user-code") == started["user_code"]  # §5.4: compare with the device
    assert "Living-room TV" in page.inner_text("h1")
    screenshot(page, "device-confirm")
    page.click("button[value=allow]")
    page.wait_for_selector("text=Device connected")

    DeviceGrant.objects.update(last_polled_at=None)  # as if the device had waited its interval
    session = OAuth2Session(tv_client.client_id, token_endpoint_auth_method="none")
    token = session.fetch_token(endpoints["token"], grant_type=DEVICE_GRANT, device_code=started["device_code"])
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    assert set(token["scope"].split()) == {"openid", "profile", "offline_access"}
    verify_jwt(token["id_token"], endpoints["jwks"], iss=issuer, aud=tv_client.client_id, sub=str(alice.sub))
    access = verify_jwt(token["access_token"], endpoints["jwks"], iss=issuer, sub=str(alice.sub))
    assert access.claims["client_id"] == tv_client.client_id and access.claims["auth_time"]
    # The refresh token works like any other.
    refreshed = session.refresh_token(endpoints["token"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]

    # Single use: the device code is spent.
    assert_error(poll(endpoints, tv_client, started["device_code"]), "invalid_grant")
    actions = list(AuditEvent.objects.filter(tenant=alice.tenant).values_list("action", flat=True))
    for action in (
        "oauth.device.authorization_started",
        "oauth.device.approved",
        "consent.granted",
        "oauth.token.issued",
    ):
        assert action in actions
    approved = AuditEvent.objects.get(action="oauth.device.approved")
    assert approved.actor_id == str(alice.pk) and approved.target_id == tv_client.client_id


def test_slow_down_adds_five_seconds_for_this_and_later_polls(endpoints, device_endpoint, tv_client):
    started = start(device_endpoint, tv_client)
    assert_error(poll(endpoints, tv_client, started["device_code"]), "authorization_pending")
    assert_error(poll(endpoints, tv_client, started["device_code"]), "slow_down")
    assert DeviceGrant.objects.get().interval == 10
    assert_error(poll(endpoints, tv_client, started["device_code"]), "slow_down")
    assert DeviceGrant.objects.get().interval == 15
    # A device that waits its (new) interval is pending again.
    DeviceGrant.objects.update(last_polled_at=timezone.now() - timedelta(seconds=15))
    assert_error(poll(endpoints, tv_client, started["device_code"]), "authorization_pending")


def test_denied_is_access_denied(live_server, endpoints, device_endpoint, tv_client, alice):
    started = start(device_endpoint, tv_client)
    done = DevicePage(live_server.url).decide(started["verification_uri_complete"], started["user_code"], "deny")
    assert "Device not connected" in done.text
    assert_error(poll(endpoints, tv_client, started["device_code"]), "access_denied")
    assert AuditEvent.objects.filter(action="oauth.device.denied", outcome="denied").exists()


def test_expired_code_is_expired_token(live_server, endpoints, device_endpoint, tv_client, alice):
    started = start(device_endpoint, tv_client)
    DeviceGrant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert_error(poll(endpoints, tv_client, started["device_code"]), "expired_token")
    # The person can no longer approve it either.
    browser = DevicePage(live_server.url)
    page = browser.open(started["verification_uri_complete"])
    assert browser.enter(page, started["user_code"]).status_code == 400


def test_approved_but_expired_before_polling_is_expired_token(
    live_server, endpoints, device_endpoint, tv_client, alice
):
    started = start(device_endpoint, tv_client)
    DevicePage(live_server.url).decide(started["verification_uri_complete"], started["user_code"], "allow")
    DeviceGrant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert_error(poll(endpoints, tv_client, started["device_code"]), "expired_token")


def test_confidential_client_authenticates_at_both_endpoints(
    live_server, endpoints, device_endpoint, make_client, tenant, alice
):
    client = make_client(
        tenant, "Kiosk", grant_types=[GrantType.DEVICE_CODE], redirect_uris=[], allowed_scopes="openid email"
    )
    started = start(device_endpoint, client, scope="openid email")
    anonymous = requests.post(device_endpoint, data={"client_id": client.client_id}, timeout=10)
    assert_error(anonymous, "invalid_client", 401)
    DevicePage(live_server.url).decide(started["verification_uri_complete"], started["user_code"], "allow")
    no_secret = requests.post(
        endpoints["token"],
        data={"grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": client.client_id},
        timeout=10,
    )
    assert_error(no_secret, "invalid_client", 401)
    token = poll(endpoints, client, started["device_code"])
    assert token.status_code == 200 and "refresh_token" not in token.json()  # no refresh_token grant
    assert set(token.json()["scope"].split()) == {"openid", "email"}


@pytest.mark.parametrize(
    "case,error,status",
    [
        ("unknown_client", "invalid_client", 401),
        ("no_client", "invalid_client", 401),
        ("not_a_device_client", "unauthorized_client", 400),
        ("bad_scope", "invalid_scope", 400),
        ("json_body", "invalid_request", 400),
        ("duplicate_scope", "invalid_request", 400),
    ],
)
def test_device_authorization_errors(device_endpoint, tv_client, spa_client, case, error, status):
    data = {"client_id": tv_client.client_id, "scope": "openid"}
    kwargs = {"data": data}
    if case == "unknown_client":
        data["client_id"] = "nobody"
    elif case == "no_client":
        del data["client_id"]
    elif case == "not_a_device_client":
        data["client_id"] = spa_client.client_id
    elif case == "bad_scope":
        data["scope"] = "openid admin"
    elif case == "json_body":
        kwargs = {"json": data}
    elif case == "duplicate_scope":
        kwargs = {"data": list(data.items()) + [("scope", "email")]}
    answer = requests.post(device_endpoint, timeout=10, **kwargs)
    assert_error(answer, error, status)
    assert not DeviceGrant.objects.exists()
    assert AuditEvent.objects.filter(action="oauth.device.authorization_failed", details__error=error).exists()
    assert requests.get(device_endpoint, timeout=10).status_code == 405


def test_token_endpoint_errors_for_device_codes(endpoints, device_endpoint, tv_client, make_client, tenant):
    started = start(device_endpoint, tv_client)
    missing = requests.post(
        endpoints["token"], data={"grant_type": DEVICE_GRANT, "client_id": tv_client.client_id}, timeout=10
    )
    assert_error(missing, "invalid_request")
    assert_error(poll(endpoints, tv_client, "not-a-device-code"), "invalid_grant")
    # Another device client of the same tenant cannot redeem it.
    other = make_client(
        tenant,
        "Other TV",
        client_type=Client.CLIENT_PUBLIC,
        grant_types=[GrantType.DEVICE_CODE],
        token_endpoint_auth_method=AuthMethod.NONE,
        redirect_uris=[],
    )
    assert_error(poll(endpoints, other, started["device_code"]), "invalid_grant")


def test_user_code_page(live_server, device_endpoint, tv_client, alice):
    started = start(device_endpoint, tv_client, scope="openid email")
    url = started["verification_uri"]
    # Signed out: to the hosted sign-in, and back here with the code.
    first = requests.get(started["verification_uri_complete"], allow_redirects=False, timeout=10)
    assert first.status_code == 302 and "/t/acme/login?next=" in first.headers["Location"]
    browser = DevicePage(live_server.url)
    page = browser.open(url)
    assert 'name="user_code"' in page.text
    # Lenient about case and dashes (RFC 8628 §6.1).
    confirm = browser.enter(page, started["user_code"].replace("-", "").lower())
    assert started["user_code"] in confirm.text and "See your email address" in confirm.text
    # The decision needs the CSRF token of the page.
    forged = requests.post(
        urljoin(live_server.url, "/t/acme/device"),
        data={"user_code": started["user_code"], "decision": "allow"},
        cookies=browser.session.cookies,
        timeout=10,
    )
    assert forged.status_code == 403
    assert DeviceGrant.objects.get().status == DeviceGrant.AUTHORIZATION_PENDING
    # Decided once: the code is then unknown to the page.
    assert "Device connected" in browser.enter(confirm, started["user_code"], decision="allow").text
    again = browser.enter(browser.open(url), started["user_code"])
    assert again.status_code == 400 and "not valid or has expired" in again.text


def test_wrong_user_codes_are_throttled(live_server, device_endpoint, tv_client, alice, settings):
    settings.LUMOAUTH_DEVICE_CODE_MAX_FAILURES_PER_ACCOUNT = 3
    started = start(device_endpoint, tv_client)
    browser = DevicePage(live_server.url)
    page = browser.open(started["verification_uri"])
    for guess in ("BBBB-BBBB", "nonsense", "CCCC-CCCC"):
        wrong = browser.enter(page, guess)
        assert wrong.status_code == 400 and "not valid or has expired" in wrong.text
    throttled = browser.enter(page, started["user_code"])  # even the right code, now
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert DeviceGrant.objects.get().status == DeviceGrant.AUTHORIZATION_PENDING
    failures = AuditEvent.objects.filter(action="oauth.device.user_code_failed")
    assert failures.filter(outcome="failure").count() == 3 and failures.filter(outcome="denied").count() == 1


def test_tenant_isolation(
    live_server, endpoints, device_endpoint, tv_client, other_tenant, make_client, make_user, alice
):
    """A device code of tenant A is unknown at B (even to a B device client), its user code too."""
    started = start(device_endpoint, tv_client)
    b_client = make_client(
        other_tenant,
        "B TV",
        client_type=Client.CLIENT_PUBLIC,
        grant_types=[GrantType.DEVICE_CODE],
        token_endpoint_auth_method=AuthMethod.NONE,
        redirect_uris=[],
    )
    b_token = f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth/token"
    assert_error(poll({"token": b_token}, tv_client, started["device_code"]), "invalid_client", 401)
    assert_error(poll({"token": b_token}, b_client, started["device_code"]), "invalid_grant")
    b_device = f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth/device_authorization"
    assert_error(requests.post(b_device, data={"client_id": tv_client.client_id}, timeout=10), "invalid_client", 401)

    make_user(other_tenant, "alice")
    browser = DevicePage(live_server.url)
    page = browser.open(f"{live_server.url}/t/{other_tenant.slug}/device")
    assert browser.enter(page, started["user_code"]).status_code == 400
    assert DeviceGrant.objects.get().status == DeviceGrant.AUTHORIZATION_PENDING


@pytest.mark.parametrize(
    "typed", ["", "%ff", "\u00e9\u00e9\u00e9\u00e9-\u00e9\u00e9\u00e9\u00e9", "B" * 5000, "AAAA-AAAA"]
)
def test_malformed_user_codes_are_wrong_codes(live_server, tv_client, alice, typed):
    browser = DevicePage(live_server.url)
    page = browser.open(f"{live_server.url}/t/acme/device?user_code=%ff%fe")
    assert page.status_code == 200
    answer = browser.enter(page, typed)
    assert answer.status_code == 400 and "not valid or has expired" in answer.text


def test_malformed_device_codes_are_invalid_grant(endpoints, tv_client):
    for device_code in ("%ff", "x" * 5000, "\u00e9"):
        assert_error(poll(endpoints, tv_client, device_code), "invalid_grant")
