"""HTTP-POST binding messages that arrive cross-site without our session cookie are posted again
from our own page (saml/same_site.py); the browser test is tests/saml/test_sp_browser.py."""

import html
import re

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

FIELDS = {"SAMLRequest": 'abc"><script>alert(1)</script>', "RelayState": "https://sp.example/after"}


def _form(page: str) -> tuple[str, dict]:
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))
    fields = {n: html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}
    return action, fields


@pytest.mark.parametrize("path", ["/t/acme/saml/idp/sso", "/t/acme/saml/idp/slo", "/t/acme/saml/sp/acs"])
def test_a_cross_site_post_without_our_cookie_comes_back_from_our_page(tenant, path):
    browser = Client()
    answer = browser.post(path, {**FIELDS, "SAMLResponse": "xyz"}, HTTP_SEC_FETCH_SITE="cross-site")
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    page = answer.content.decode()
    assert "<script>alert(1)</script>" not in page  # the fields are escaped
    action, fields = _form(page)
    assert action == path and fields == {**FIELDS, "SAMLResponse": "xyz", "lumo_same_site": "1"}
    # Posted again (same-site now): the view itself answers - here, an error page for the garbage.
    again = browser.post(action, fields, HTTP_SEC_FETCH_SITE="same-origin")
    assert again.status_code == 400 and b"lumo_same_site" not in again.content


def test_with_our_cookie_or_from_our_own_site_nothing_is_posted_again(tenant):
    browser = Client()
    same_site = browser.post("/t/acme/saml/idp/sso", FIELDS, HTTP_SEC_FETCH_SITE="same-site")
    assert same_site.status_code == 400  # straight to the view
    browser.cookies[settings.SESSION_COOKIE_NAME] = "some-session"
    with_cookie = browser.post("/t/acme/saml/idp/sso", FIELDS, HTTP_SEC_FETCH_SITE="cross-site")
    assert with_cookie.status_code == 400
    no_fetch_metadata = Client().post("/t/acme/saml/idp/sso", FIELDS)  # not a browser that says so
    assert no_fetch_metadata.status_code == 400
