"""Accessibility audit of the server-rendered pages: axe-core (bundled by axe-playwright-python) run
in Debian's headless Chromium on what an admin and a user see - the hosted sign-in, the admin
portal and the hosted OAuth pages (consent, device, CIBA approval) - with the data they show made
through the real services. Rules: WCAG 2.0/2.1 A and AA, and axe's best practices (landmarks,
heading order, table headers). A violation of impact serious or critical fails the test; so does a moderate
or minor one unless it is listed in KNOWINGLY_LEFT with the reason."""

from urllib.parse import urlencode

import pytest
from axe_playwright_python.sync_playwright import Axe
from saml2.metadata import create_metadata_string

from lumoauth.events.api import Ref
from lumoauth.webhooks.subscriptions import create_subscription
from oauth.ciba import authentications
from oauth.device import authorizations as device_authorizations
from oauth.models import Client, GrantType
from oauth.services.clients import ClientSpec, create_client
from oauth.services.registration import create_initial_access_token
from oauth.services.trusted_issuers import TrustedIssuerSpec, create_trusted_issuer
from saml.services.idp_connections import create_connection
from saml.services.service_providers import register_from_metadata
from scim.tokens import create_scim_token
from tenants.domains.claims import claim_domain
from tenants.models import FederatedIdentity
from tenants.services.groups import add_member, create_group
from tenants.services.users import set_active
from tests.conftest import PASSWORD
from tests.oauth.tokens import REDIRECT_URI, issue_tokens, web_client
from tests.saml.conftest import corporate_idp, make_keypair, sp_config, sp_metadata

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Axe()
OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations", "incomplete"],
}
BLOCKING = {"serious", "critical"}
# Rule ids of impact moderate or minor that are left on purpose, with the reason (see docs/portal.md).
KNOWINGLY_LEFT: dict[str, str] = {}
# Rules whose "needs review" answer is a failure here too: axe reports an aria-describedby pointing at
# an id that is not on the page (a help text or error the template forgot to render) only as incomplete.
INCOMPLETE_FAILS = {"aria-valid-attr-value"}
ADMIN = Ref("user", "1", "boss")


def audit(page, name: str) -> list[str]:
    """axe's violations on the page as it is now: one line per rule, with every offending node."""
    results = AXE.run(page, options=OPTIONS).response
    reviewed = [
        dict(rule, id=f"{rule['id']} (incomplete)") for rule in results["incomplete"] if rule["id"] in INCOMPLETE_FAILS
    ]
    found = []
    for violation in results["violations"] + reviewed:
        if violation["impact"] not in BLOCKING and violation["id"] in KNOWINGLY_LEFT:
            continue
        targets = "; ".join(" >> ".join(map(str, node["target"])) for node in violation["nodes"])
        found.append(f"{name} ({page.url}): {violation['id']} [{violation['impact']}] {violation['help']}: {targets}")
    return found


def visit(page, url: str, name: str, status: int = 200) -> list[str]:
    response = page.goto(url)
    assert response.status == status, (name, url, response.status)
    return audit(page, name)


def assert_accessible(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} accessibility violation(s):\n" + "\n".join(problems)


def sign_in(page, username: str) -> None:
    page.fill("input[name=identifier]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.fixture
def portal_data(tenant, make_user, alice, tmp_path, settings):
    """Something on every page an admin opens, made through the real services."""
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True
    set_active(make_user(tenant, "bob"), False, actor=ADMIN)
    group = create_group(tenant, "Support", description="First line", actor=ADMIN)
    add_member(group, alice, actor=ADMIN)
    client, secret = web_client(tenant, "Billing web")
    issue_tokens(tenant, client, secret, "alice")  # a sign-in session, a consent and tokens for alice
    FederatedIdentity.objects.create(tenant=tenant, user=alice, connection="saml:7", subject="alice@corp")
    create_initial_access_token(tenant, label="Partner team", actor=ADMIN)
    sp = register_from_metadata(tenant, sp_metadata(sp_config(make_keypair(tmp_path, "sp"))), name="Wiki")
    idp = corporate_idp(make_keypair(tmp_path, "corp-idp"))
    create_connection(tenant, "corp", "Corp SSO", create_metadata_string(None, config=idp.config, sign=False).decode())
    claim_domain(tenant, "acme.example", actor=ADMIN)
    subscription, _ = create_subscription(
        tenant, "http://127.0.0.1:9/hooks", ["user.*"], description="CRM sync", actor=ADMIN
    )
    create_scim_token(tenant, label="Okta", actor=ADMIN)
    trusted = create_trusted_issuer(
        tenant,
        TrustedIssuerSpec(
            name="Agent platform", issuer="https://agents.example.net", jwks_uri="https://agents.example.net/jwks"
        ),
        actor=ADMIN,
    )
    return {
        "alice": alice,
        "group": group,
        "client": client,
        "sp": sp,
        "subscription": subscription,
        "trusted": trusted,
    }


def test_portal_pages_have_no_accessibility_violations(admin_page, portal_data):
    page, base = admin_page, admin_page.base
    alice, group, client = portal_data["alice"], portal_data["group"], portal_data["client"]
    subscription = portal_data["subscription"]
    pages = [
        ("dashboard", ""),
        ("users", "users/"),
        ("user", f"users/{alice.sub}/"),
        ("user password", f"users/{alice.sub}/password"),
        ("new user", "users/new"),
        ("groups", "groups/"),
        ("group", f"groups/{group.uid}/"),
        ("OAuth clients", "clients/"),
        ("OAuth client", f"clients/{client.client_id}/"),
        ("registration tokens", "registration-tokens/"),
        ("trusted issuers", "trusted-issuers/"),
        ("trusted issuer", f"trusted-issuers/{portal_data['trusted'].pk}/"),
        ("SAML service providers", "saml/"),
        ("SAML service provider", f"saml/sp/{portal_data['sp'].pk}/"),
        ("SAML connections", "saml/connections/"),
        ("SAML connection", "saml/connections/corp/"),
        ("OIDC connections", "oidc/"),
        ("domains", "domains/"),
        ("webhooks", "webhooks/"),
        ("webhook", f"webhooks/{subscription.uid}/"),
        ("webhook deliveries", f"webhooks/{subscription.uid}/deliveries"),
        ("audit log", "audit/"),
        ("SCIM tokens", "scim/"),
        ("signing keys", "signing-keys/"),
        ("settings", "settings/"),
    ]
    problems = []
    for name, path in pages:
        problems += visit(page, base + path, name)

    # Forms refused in place: errors next to their fields.
    page.goto(base + "users/new")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=email]", "not-an-email")
    page.click("button:has-text('Create user')")
    page.wait_for_selector(".field.has-error")
    problems += audit(page, "new user with errors")
    page.goto(base + "audit/?from=yesterday")
    problems += audit(page, "audit log with a wrong filter")
    page.goto(base + "webhooks/")
    page.fill("input[name=url]", "ftp://hooks.acme.example/")
    page.click("button:has-text('Add webhook')")
    page.wait_for_selector(".has-error")
    problems += audit(page, "webhook refused")
    page.goto(base + "trusted-issuers/")
    page.fill("input[name=name]", "Workloads")
    page.fill("input[name=issuer]", "https://workloads.example")
    page.fill("textarea[name=jwks]", "{not json")
    page.click("button:has-text('Add issuer')")
    page.wait_for_selector(".has-error")
    problems += audit(page, "trusted issuer refused")
    page.goto(base + f"trusted-issuers/{portal_data['trusted'].pk}/")
    page.fill("input[name=jwks_uri]", "http://agents.example.net/jwks")
    page.click("button:has-text('Save issuer')")
    page.wait_for_selector(".has-error")
    problems += audit(page, "trusted issuer edit refused")
    # A message after saving.
    page.goto(base + "settings/")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")
    problems += audit(page, "settings saved")
    # What is shown only once.
    page.goto(base + "clients/")
    page.fill("input[name=name]", "Reports")
    page.uncheck("input[value=authorization_code]")
    page.check("input[value=client_credentials]")
    page.click("button:has-text('Register client')")
    page.wait_for_selector("#client-secret")
    problems += audit(page, "client secret")
    page.goto(base + "scim/")
    page.fill("input[name=label]", "Entra ID")
    page.click("button:has-text('Create token')")
    page.wait_for_selector("#scim-token")
    problems += audit(page, "SCIM token created")
    assert_accessible(problems)

    # Keyboard: the first Tab reaches the skip link, which leads past the sidebar to the section.
    page.goto(base)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#portal-content")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#portal-content') !== null")


@pytest.fixture
def oauth_clients(tenant):
    def make(name, **fields):
        return create_client(tenant, ClientSpec(name=name, **fields))[0]

    return {
        "web": make("Billing web", grant_types=[GrantType.AUTHORIZATION_CODE], redirect_uris=[REDIRECT_URI]),
        "tv": make(
            "Living-room TV",
            client_type=Client.CLIENT_PUBLIC,
            grant_types=[GrantType.DEVICE_CODE],
            allowed_scopes="openid profile email",
        ),
        "ciba": make(
            "Call centre",
            grant_types=[GrantType.CIBA],
            allowed_scopes="openid profile email",
            backchannel_token_delivery_mode="poll",
        ),
    }


def test_sign_in_and_hosted_oauth_pages_have_no_accessibility_violations(
    chromium, live_server, tenant, alice, oauth_clients
):
    site = f"{live_server.url}/t/{tenant.slug}"
    context = chromium.new_context()
    page = context.new_page()
    problems = visit(page, f"{site}/login", "sign-in")
    page.fill("input[name=identifier]", "alice")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    page.wait_for_selector("[role=alert]")
    problems += audit(page, "sign-in refused")
    sign_in(page, "alice")
    problems += visit(page, f"{site}/account", "account")

    query = urlencode(
        {
            "response_type": "code",
            "client_id": oauth_clients["web"].client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": "s",
            "nonce": "n",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    problems += visit(page, f"{site}/api/v1/oauth/authorize?{query}", "consent")
    assert page.locator("button[value=allow]").count() == 1
    problems += visit(page, f"{site}/api/v1/oauth/authorize?client_id=nobody&response_type=code", "OAuth error", 400)

    started = device_authorizations.start(oauth_clients["tv"], ["openid", "profile"])
    problems += visit(page, f"{site}/device", "device user code")
    page.fill("input[name=user_code]", "WRONG-CODE")
    page.click("button[type=submit]")
    page.wait_for_selector("[role=alert]")
    problems += audit(page, "device user code refused")
    page.fill("input[name=user_code]", started.user_code)
    page.click("button[type=submit]")
    page.wait_for_selector("#user-code")
    problems += audit(page, "device confirmation")

    request = authentications.start(
        oauth_clients["ciba"],
        alice,
        ["openid", "profile"],
        binding_message="W4SCT",
        expires_in=120,
        notification_token=None,
        approval_url=lambda authentication: f"{site}/ciba/{authentication.uid}",
    )
    problems += visit(page, f"{site}/ciba/{request.authentication.uid}", "CIBA approval")
    assert page.inner_text("#binding-message") == "W4SCT"
    page.click("button[value=approve]")
    page.wait_for_selector("text=Sign-in approved")
    problems += audit(page, "CIBA approved")
    problems += visit(page, f"{site}/logout", "sign out")
    problems += visit(page, f"{live_server.url}/", "home")
    problems += visit(page, f"{site}/no-such-page", "not found", 404)
    context.close()
    assert_accessible(problems)


def test_a_violation_fails_with_rule_impact_and_targets(chromium):
    """The audit can fail: a page with an unlabelled input and an empty button is reported."""
    page = chromium.new_page()
    page.set_content('<html lang="en"><main><h1>x</h1><input id="q"><button id="go"></button></main></html>')
    problems = audit(page, "broken")
    page.close()
    with pytest.raises(AssertionError) as failure:
        assert_accessible(problems)
    message = str(failure.value)
    assert "label [critical]" in message and "#q" in message
    assert "button-name [critical]" in message and "#go" in message
