"""The hosted sign-in over real HTTP, as a browser would use it (cookies, CSRF, redirects)."""

import re
import socket
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_sign_in_and_out_over_http(live_server, tenant, other_tenant, make_user):
    make_user(tenant, "alice", name="Alice Over HTTP")
    browser = requests.Session()
    login = browser.get(f"{live_server.url}/t/acme/login?next=/t/acme/account")
    assert login.status_code == 200
    response = browser.post(
        f"{live_server.url}/t/acme/login",
        data={
            "identifier": "alice",
            "password": PASSWORD,
            "next": "/t/acme/account",
            "csrfmiddlewaretoken": csrf_from(login.text),
        },
        headers={"Referer": login.url},
        allow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["Location"] == "/t/acme/account"
    cookie = response.cookies.get("lumoauth_session")
    assert cookie and "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]
    account = browser.get(f"{live_server.url}/t/acme/account")
    assert "Alice Over HTTP" in account.text
    # The other tenant does not know this browser.
    assert browser.get(f"{live_server.url}/t/globex/account", allow_redirects=False).status_code == 302
    out = browser.post(
        f"{live_server.url}/t/acme/logout",
        data={"csrfmiddlewaretoken": csrf_from(account.text)},
        headers={"Referer": account.url},
        allow_redirects=False,
    )
    assert out.status_code == 302
    assert browser.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 302


def test_cross_site_post_is_refused(live_server, tenant, make_user):
    make_user(tenant, "alice")
    response = requests.post(
        f"{live_server.url}/t/acme/login",
        data={"identifier": "alice", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert response.status_code == 403


def test_raw_invalid_utf8_request_line(live_server, tenant):
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    for target in (b"/t/acme/login?next=\xff\xfe%c3%28", b"/t/\xff\xfe/login", b"/t/acme/\xc3\x28"):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        status = int(reply.split(b" ", 2)[1])
        assert status < 500, (target, reply[:200])
