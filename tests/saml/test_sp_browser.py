"""The SP flow in a real browser, with the IdP on another site: its HTTP-POST binding is a
cross-site POST, on which Chromium does not send our SameSite=Lax session cookie."""

import pytest

from tests.portal.conftest import chromium, screenshot  # noqa: F401 (the shared headless Chromium fixture)

from .conftest import IDP_SSO, answer_authn_request

pytestmark = pytest.mark.django_db(transaction=True)

# The IdP's site as the browser sees it: another site than the live server's `localhost` (an IP
# address is a site of its own), served by the test's route. Loopback, so that Chromium's local
# network protections do not stop a public site's form from posting to us.
IDP_SITE = "http://127.0.0.1:9"


def test_the_idps_cross_site_post_signs_the_user_in(chromium, corp, live_server):  # noqa: F811
    from playwright.sync_api import Error as PlaywrightError

    idp, _ = corp
    context = chromium.new_context()
    # The corporate IdP's site: its SSO page answers with pysaml2's auto-submitting HTTP-POST form.
    context.route(
        f"{IDP_SITE}/**",
        lambda route: route.fulfill(
            content_type="text/html", body=answer_authn_request(idp, route.request.url)["data"]
        ),
    )
    page = context.new_page()
    sent_to_idp = []
    page.on("request", lambda request: sent_to_idp.append(request.url) if request.url.startswith(IDP_SSO) else None)
    # Playwright serves no redirected request from a route, and the IdP's host does not resolve here:
    # the redirect to the IdP fails, then the browser goes there as the redirect would have.
    with pytest.raises(PlaywrightError):
        page.goto(f"{live_server.url}/t/acme/saml/sp/login?idp=corp&next=/t/acme/account")
    (idp_url,) = sent_to_idp
    # The browser at the IdP's site, whose page posts the signed Response to our ACS: a cross-site POST.
    # (A fresh tab of the same browser, opened from about:blank, so no earlier navigation is pending.)
    page.close()
    page = context.new_page()
    page.evaluate(
        "url => { setTimeout(() => { location.href = url; }, 0); }", idp_url.replace(IDP_SSO, f"{IDP_SITE}/sso", 1)
    )
    page.wait_for_url("**/t/acme/account")
    assert "jo@corp.example" in page.content()
    screenshot(page, "saml-sp-signed-in")
    page.goto(f"{live_server.url}/t/acme/account")  # signed in for real: no IdP on the way
    assert page.url.endswith("/t/acme/account") and "jo@corp.example" in page.content()
    context.close()
