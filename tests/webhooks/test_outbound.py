"""The SSRF policy of lumoauth/outbound.py: what is refused, and that connections go to the address
that was checked."""

import pytest
from django.core.exceptions import ValidationError

from lumoauth import outbound
from lumoauth.webhooks.subscriptions import create_subscription

from .conftest import ADMIN

REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/hook",  # shared address space (carrier-grade NAT)
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one decimal number
    "http://0x7f.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:169.254.169.254]/hook",
    "http://[2002:7f00:1::]/hook",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a00:1]/hook",  # NAT64 around 10.0.0.1
    "http://localhost/hook",  # a name that resolves to loopback
    "http://localhost./hook",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_private_targets_are_refused_when_not_allowed(url, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(outbound.OutboundRefused):
        outbound.vet(url)
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(url, method="POST", data=b"{}", timeout=1)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "http:///nohost",
        "http://u:p@example.com/",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "",
        "javascript:alert(1)",
        "http://[::1/",
    ],
)
def test_only_plain_http_urls_are_accepted(url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.parse_url(url)


def test_public_addresses_pass(settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False
    for address in ("93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert outbound.refusal_reason(address) is None, address
    target = outbound.vet("https://8.8.8.8/hook")  # an IP literal: no DNS needed
    assert (target.scheme, target.host, target.port, target.address) == ("https", "8.8.8.8", 443, "8.8.8.8")


def test_allowed_private_addresses_are_reached(receiver, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(outbound.OutboundRefused):
        outbound.fetch(receiver.url, method="POST", data=b"{}")
    assert receiver.requests == []  # refused before connecting
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True
    response = outbound.fetch(receiver.url, method="POST", data=b"{}")
    assert response.status_code == 200 and response.body == b"thanks" and len(receiver.requests) == 1


def test_the_connection_goes_to_the_vetted_address_not_a_new_lookup(receiver):
    """DNS rebinding: whatever the name resolves to later, the bytes go to the address that was checked."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    target = outbound.Target(
        url=f"http://hooks.example.invalid:{port}/hooks",
        scheme="http",
        host="hooks.example.invalid",
        port=port,
        address="127.0.0.1",
    )
    response = outbound._send(target, "POST", b"{}", {}, 5, 1024, deadline=float("inf"))
    assert response.status_code == 200
    (request,) = receiver.requests
    assert request.headers["Host"] == f"hooks.example.invalid:{port}" and request.path == "/hooks"


def test_redirects_are_not_followed_unless_asked_and_bodies_are_capped(receiver, allow_private):
    receiver.respond((302, 0, b""), (200, 0, b"y" * 3000))
    response = outbound.fetch(receiver.url, method="POST", data=b"{}")
    assert response.status_code == 302 and len(receiver.requests) == 1
    capped = outbound.fetch(receiver.url, max_bytes=100)
    assert capped.truncated and capped.body == b"y" * 100


def test_a_hostname_that_does_not_resolve_is_an_error_not_a_crash(settings):
    with pytest.raises(outbound.OutboundError):
        outbound.vet("http://does-not-exist.invalid/hook")  # RFC 6761 §6.4: never resolves


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/h",
        "http://10.1.2.3/h",
        "http://169.254.169.254/h",
        "http://[::1]/h",
        "http://localhost/h",
        "http://app.localhost/h",
        "ftp://example.com/h",
        "https://user:pw@example.com/h",
    ],
)
def test_subscriptions_to_private_or_odd_urls_are_refused_when_saved(tenant, url, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refused:
        create_subscription(tenant, url, ["user.*"], actor=ADMIN)
    assert "url" in refused.value.message_dict


@pytest.mark.django_db
def test_a_public_hostname_is_accepted_without_resolving_it(tenant, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False
    subscription, secret = create_subscription(tenant, "https://hooks.example.com/lumo", ["user.*"], actor=ADMIN)
    assert subscription.url == "https://hooks.example.com/lumo" and secret.startswith("whsec_")
