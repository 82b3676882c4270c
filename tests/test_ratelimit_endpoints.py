"""Rate limits on the real endpoints: each endpoint's 429 in its protocol's format, recovery on an
injected clock, per-tenant budgets and per-tenant limits, the audit trail, Redis and local memory."""

import base64
import json

import pytest
from django.core.cache.backends.redis import RedisCache
from django.test import Client as HttpClient

from lumoauth import ratelimit
from lumoauth.events.models import AuditEvent
from oauth.models import AuthMethod, GrantType
from oauth.services.clients import ClientSpec, create_client
from scim.tokens import create_scim_token
from tenants.policy import TenantPolicy, update_tenant_policy
from tests.redis_process import free_port, redis_server
from tests.test_ratelimit import WINDOW_START, Clock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    clock = Clock(WINDOW_START + 5)
    monkeypatch.setattr(ratelimit.limiter, "clock", clock)
    return clock


def limit(tenant, **rates):
    update_tenant_policy(tenant, policy=TenantPolicy(rate_limits=rates))
    tenant.refresh_from_db()


def basic(client_id: str, secret: str = "wrong") -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token_request(http, tenant, client_id="app", **extra):
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong"}
    return http.post(f"/t/{tenant.slug}/api/v1/oauth/token", data, **extra)


def assert_oauth_429(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "temporarily_unavailable" and "Try again in" in body["error_description"]
    assert int(response["Retry-After"]) > 0
    assert response["Cache-Control"] == "no-store"


# ---- the token endpoint, in detail -----------------------------------------------------------------
def test_token_endpoint_limit_is_hit_and_recovers(tenant, clock):
    limit(tenant, token="3/min")
    http = HttpClient()
    # Counted before the client is authenticated: failures count too.
    assert [token_request(http, tenant).status_code for _ in range(3)] == [401, 401, 401]
    refused = token_request(http, tenant)
    assert_oauth_429(refused)
    clock.advance(int(refused["Retry-After"]) - 1)
    assert token_request(http, tenant).status_code == 429
    clock.advance(1)
    assert token_request(http, tenant).status_code == 401


def test_token_endpoint_is_limited_per_client(tenant):
    limit(tenant, token="2/min")
    http = HttpClient()
    for _ in range(2):
        token_request(http, tenant, "app")
    assert token_request(http, tenant, "app").status_code == 429
    # The same client id in Basic credentials is the same budget; another client has its own.
    assert http.post(f"/t/{tenant.slug}/api/v1/oauth/token", {"grant_type": "client_credentials"}, **basic("app"))[
        "Retry-After"
    ]
    assert token_request(http, tenant, "other-app").status_code == 401


def test_a_real_client_gets_tokens_until_its_limit(tenant):
    client, secret = create_client(
        tenant,
        ClientSpec(
            name="svc",
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        ),
    )
    limit(tenant, token="2/min")
    http = HttpClient()
    url = f"/t/{tenant.slug}/api/v1/oauth/token"
    statuses = [
        http.post(url, {"grant_type": "client_credentials"}, **basic(client.client_id, secret)).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_one_tenants_traffic_does_not_use_another_tenants_budget(tenant, other_tenant):
    """Same client id, same IP, two tenants: two budgets."""
    limit(tenant, token="2/min", authorize="2/min")
    limit(other_tenant, token="2/min", authorize="2/min")
    http = HttpClient()
    for _ in range(2):
        token_request(http, tenant, "shared-id")
        http.get(f"/t/{tenant.slug}/api/v1/oauth/authorize?client_id=x")
    assert token_request(http, tenant, "shared-id").status_code == 429
    assert http.get(f"/t/{tenant.slug}/api/v1/oauth/authorize?client_id=x").status_code == 429
    assert token_request(http, other_tenant, "shared-id").status_code == 401
    assert http.get(f"/t/{other_tenant.slug}/api/v1/oauth/authorize?client_id=x").status_code == 400
    # /orgs/<slug>/ is the same tenant, so the same budget.
    assert http.post("/orgs/acme/api/v1/oauth/token", {"client_id": "shared-id"}).status_code == 429


def test_each_tenant_gets_its_own_configured_limit(settings, tenant, other_tenant):
    settings.LUMOAUTH_RATE_LIMITS = {"token": "4/min"}
    limit(tenant, token="1/min")
    http = HttpClient()
    assert [token_request(http, tenant).status_code for _ in range(2)] == [401, 429]
    assert [token_request(http, other_tenant).status_code for _ in range(5)] == [401] * 4 + [429]


def test_a_scope_turned_off_by_the_platform_is_not_limited(settings, tenant):
    settings.LUMOAUTH_RATE_LIMITS = {"token": "off", "introspection": "1/min"}
    http = HttpClient()
    assert {token_request(http, tenant).status_code for _ in range(20)} == {401}


def test_a_trip_is_audited_once_per_window_and_key(tenant, clock):
    limit(tenant, token="1/min")
    http = HttpClient()
    token_request(http, tenant, "noisy")
    for _ in range(5):
        assert token_request(http, tenant, "noisy").status_code == 429
    token_request(http, tenant, "quiet")
    assert token_request(http, tenant, "quiet").status_code == 429
    events = AuditEvent.objects.filter(tenant=tenant, action="rate_limit.exceeded").order_by("id")
    assert [(e.actor_type, e.actor_id, e.outcome) for e in events] == [
        ("client", "noisy", "denied"),
        ("client", "quiet", "denied"),
    ]
    assert events[0].details == {"scope": "token", "key": "client", "limit": "1/min", "retry_after": 115}
    clock.advance(60)  # the next fixed window: one more record if it trips again
    for _ in range(3):
        token_request(http, tenant, "noisy")
    assert AuditEvent.objects.filter(action="rate_limit.exceeded", actor_id="noisy").count() == 2


def test_without_its_cache_the_limiter_lets_requests_through(tenant, monkeypatch):
    """Redis down: serve (and log) rather than fail every request with a 500."""
    monkeypatch.setattr(ratelimit.limiter, "cache", RedisCache(f"redis://127.0.0.1:{free_port()}/0", {}))
    limit(tenant, token="1/min")
    http = HttpClient()
    assert [token_request(http, tenant).status_code for _ in range(3)] == [401, 401, 401]


# ---- every limited endpoint answers in its protocol's format ----------------------------------------
def test_introspection_is_limited_per_client(tenant):
    limit(tenant, introspection="1/min")
    http = HttpClient()
    url = f"/t/{tenant.slug}/api/v1/oauth/introspect"
    assert http.post(url, {"token": "x"}, **basic("rs")).status_code == 401
    assert_oauth_429(http.post(url, {"token": "x"}, **basic("rs")))
    assert http.post(url, {"token": "x"}, **basic("other-rs")).status_code == 401


def test_authorize_answers_people_with_a_page(tenant):
    limit(tenant, authorize="1/min")
    http = HttpClient()
    url = f"/t/{tenant.slug}/api/v1/oauth/authorize?client_id=app&redirect_uri=https://evil.example/"
    http.get(url)
    refused = http.get(url)
    assert refused.status_code == 429 and not refused.has_header("Location")  # never redirected
    assert refused["Content-Type"].startswith("text/html")
    assert b"Too many requests" in refused.content and b"Acme Corp" in refused.content
    assert int(refused["Retry-After"]) > 0
    # Per IP: another address is not affected.
    assert HttpClient(REMOTE_ADDR="192.0.2.7").get(url).status_code == 400


def test_sign_in_attempts_are_limited_per_ip(tenant, make_user, sign_in):
    make_user(tenant, "alice")
    limit(tenant, signin="2/min")
    http = HttpClient()
    assert [sign_in(http, tenant, "alice", "wrong").status_code for _ in range(2)] == [200, 200]
    refused = sign_in(http, tenant, "alice")
    assert refused.status_code == 429 and b"Too many requests" in refused.content
    assert refused["Content-Type"].startswith("text/html") and int(refused["Retry-After"]) > 0
    # Showing the page is not an attempt; another IP signs in.
    assert http.get(f"/t/{tenant.slug}/login").status_code == 200
    assert sign_in(HttpClient(REMOTE_ADDR="192.0.2.8"), tenant, "alice").status_code == 302


def test_ipv6_clients_are_counted_per_64(tenant):
    limit(tenant, signin="1/min")
    url = f"/t/{tenant.slug}/login"
    assert HttpClient(REMOTE_ADDR="2001:db8:1:2::1").post(url, {}).status_code == 400
    assert HttpClient(REMOTE_ADDR="2001:db8:1:2::ffff").post(url, {}).status_code == 429
    assert HttpClient(REMOTE_ADDR="2001:db8:1:3::1").post(url, {}).status_code == 400


def test_par_and_device_authorization_share_the_clients_token_budget(tenant):
    limit(tenant, token="2/min")
    http = HttpClient()
    assert http.post(f"/t/{tenant.slug}/api/v1/oauth/par", {"client_id": "app"}).status_code != 429
    assert http.post(f"/t/{tenant.slug}/api/v1/oauth/device_authorization", {"client_id": "app"}).status_code != 429
    assert_oauth_429(token_request(http, tenant, "app"))
    assert_oauth_429(http.post(f"/t/{tenant.slug}/api/v1/oauth/par", {"client_id": "app"}))


def test_device_code_entry_is_limited_like_sign_in(tenant):
    limit(tenant, signin="1/min")
    http = HttpClient()
    assert http.post(f"/t/{tenant.slug}/device", {"user_code": "WDJB-MJHT"}).status_code != 429
    refused = http.post(f"/t/{tenant.slug}/device", {"user_code": "WDJB-MJHT"})
    assert refused.status_code == 429 and b"Too many requests" in refused.content


def test_federated_sign_in_is_limited_per_ip(tenant):
    limit(tenant, federation="1/min")
    http = HttpClient()
    start = f"/t/{tenant.slug}/federation/oidc/corp/login"
    assert http.get(start).status_code == 404  # no such connection: counted all the same
    refused = http.get(f"/t/{tenant.slug}/federation/oidc/corp/callback?state=x&code=y")
    assert refused.status_code == 429 and b"Too many requests" in refused.content
    assert HttpClient(REMOTE_ADDR="192.0.2.9").get(start).status_code == 404


def test_client_registration_is_limited_per_ip(tenant):
    limit(tenant, registration="1/min")
    http = HttpClient()
    url = f"/t/{tenant.slug}/api/v1/oauth/register"
    assert http.post(url, "{}", content_type="application/json").status_code == 401
    assert_oauth_429(http.post(url, "{}", content_type="application/json"))
    assert_oauth_429(http.get(f"{url}/some-client"))  # the RFC 7592 endpoint shares the budget


def test_scim_is_limited_per_token_with_scim_errors(tenant, other_tenant):
    _saved, token = create_scim_token(tenant, label="Okta")
    _saved, second = create_scim_token(tenant, label="Entra")
    limit(tenant, scim="2/min")
    http = HttpClient()
    url = f"/t/{tenant.slug}/scim/v2/Users"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert [http.get(url, **auth).status_code for _ in range(2)] == [200, 200]
    refused = http.get(url, **auth)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/scim+json"
    assert json.loads(refused.content) == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "429",
        "detail": refused.json()["detail"],
    }
    assert "Try again in" in refused.json()["detail"] and int(refused["Retry-After"]) > 0
    # Unnamed SCIM routes count too; another token of the tenant has its own budget.
    assert http.get(f"/t/{tenant.slug}/scim/v2/ResourceTypes/User", **auth).status_code == 429
    assert http.get(url, HTTP_AUTHORIZATION=f"Bearer {second}").status_code == 200
    # Without a token the caller's IP is the key (and the answer still the 401 SCIM error).
    assert http.get(url).status_code == 401
    # The other tenant's SCIM budget is untouched.
    _saved, foreign = create_scim_token(other_tenant)
    assert http.get(f"/t/{other_tenant.slug}/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {foreign}").status_code == 200


def test_unlimited_routes_are_not_counted(tenant):
    limit(tenant, token="1/min")
    http = HttpClient()
    for _ in range(5):
        assert http.get(f"/t/{tenant.slug}/api/v1/.well-known/openid-configuration").status_code == 200
    assert token_request(http, tenant).status_code == 401


# ---- the same through Redis ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis_cache():
    with redis_server() as url:
        yield RedisCache(url, {})


def test_limits_on_redis(tenant, other_tenant, clock, monkeypatch, redis_cache):
    monkeypatch.setattr(ratelimit.limiter, "cache", redis_cache)
    redis_cache.clear()
    limit(tenant, token="2/min")
    http = HttpClient()
    assert [token_request(http, tenant).status_code for _ in range(3)] == [401, 401, 429]
    assert token_request(http, other_tenant).status_code == 401
    assert any(":token:client:" in key.decode() for key in redis_cache._cache.get_client().keys("*"))
    clock.advance(int(token_request(http, tenant)["Retry-After"]))
    assert token_request(http, tenant).status_code == 401
