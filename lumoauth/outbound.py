"""Outbound HTTP to URLs that tenants configure (webhook receivers, a client's jwks_uri, SAML metadata):
the server-side request forgery (SSRF) policy, in one place.

- Only http and https; no credentials in the URL.
- The host is resolved once and every address it resolves to is checked: loopback, private,
  link-local, multicast, reserved, unspecified and other not globally routable addresses (IPv4 and
  IPv6, including IPv4-mapped, 6to4, Teredo and NAT64 forms) are refused, unless the operator allows
  them (LUMOAUTH_OUTBOUND_ALLOW_PRIVATE, e.g. for receivers on a private network).
- The connection goes to the address that was checked (TLS still verifies the host name), so a
  DNS answer that changes between the check and the connection (DNS rebinding) cannot redirect it.
- Redirects are not followed unless asked for, and then each hop is checked the same way.
- Connect and read timeouts, a total deadline for the body, and a cap on the bytes read.
Residual risk: a server that sends its response headers very slowly can hold a connection for up
to the read timeout per header line (the body is under the total deadline).
"""

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are IPv4
USER_AGENT = "LumoAuth"


class OutboundRefused(Exception):
    """The URL is not one this server may fetch: its scheme, its form, or an address it resolves to."""


class OutboundError(Exception):
    """The fetch failed: name resolution, connection, TLS, timeout or a malformed response."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: the host name it names and the address the connection will go to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


@dataclass
class OutboundResponse:
    status_code: int
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False  # the body was longer than max_bytes (only max_bytes were read)
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def private_addresses_allowed() -> bool:
    return bool(getattr(settings, "LUMOAUTH_OUTBOUND_ALLOW_PRIVATE", False))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # (server, client): the client address is the one traffic goes to
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal_reason(address: str) -> str | None:
    """Why an address may not be connected to (None: it may). Zone ids (fe80::1%eth0) are ignored."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = refusal_reason(str(embedded))
            if reason:
                return f"{reason} (embedded in {ip})"
            if ip.ipv4_mapped:  # the connection goes to that IPv4 address: it alone decides
                return None
    checks = (
        ("is_unspecified", "unspecified address"),
        ("is_loopback", "loopback address"),
        ("is_link_local", "link-local address"),
        ("is_multicast", "multicast address"),
        ("is_private", "private address"),
        ("is_reserved", "reserved address"),
        ("is_site_local", "site-local address"),
    )
    for attribute, reason in checks:
        if getattr(ip, attribute, False):
            return reason
    if not ip.is_global:  # e.g. 100.64.0.0/10 (shared address space)
        return "address that is not globally routable"
    return None


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or OutboundRefused. No name resolution."""
    if not isinstance(url, str) or not url or any(ord(c) < 0x21 or c == "\x7f" for c in url):
        raise OutboundRefused("The URL is empty or contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"The URL is malformed: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise OutboundRefused("Only http and https URLs are allowed.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("Credentials in the URL are not allowed.")
    return scheme, host, port or DEFAULT_PORTS[scheme]


def check_url_form(url: str) -> None:
    """What can be checked when a URL is saved, without resolving names: the scheme and form, and
    a host that is an IP address or a local name must be allowed (the full check runs on each fetch)."""
    _, host, _ = parse_url(url)
    if private_addresses_allowed():
        return
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):  # RFC 6761 §6.3
        raise OutboundRefused(f"{host} is a loopback name.")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return
    reason = refusal_reason(host)
    if reason:
        raise OutboundRefused(f"{host} is a {reason}.")


def vet(url: str) -> Target:
    """Resolve the URL's host and check every address it resolves to."""
    scheme, host, port = parse_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise OutboundError(f"{host} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OutboundError(f"{host} does not resolve.")
    if not private_addresses_allowed():
        for address in addresses:
            reason = refusal_reason(address)
            if reason:
                # Every address is checked: a name that also resolves to a private address is refused,
                # whichever address the connection would have used.
                raise OutboundRefused(f"{host} resolves to {address}, a {reason}.")
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


class _PinnedAdapter(HTTPAdapter):
    """Connects to the vetted address; TLS server name indication and certificate verification
    still use the host name of the URL."""

    def __init__(self, target: Target):
        self.target = target
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=1)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        _, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if self.target.scheme == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": self.target.host, "assert_hostname": self.target.host}
        return self.poolmanager.connection_from_host(
            host=self.target.address, port=self.target.port, scheme=self.target.scheme, pool_kwargs=pool_kwargs
        )


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == DEFAULT_PORTS[target.scheme] else f"{host}:{target.port}"


def _send(target: Target, method: str, data: bytes | None, headers: dict, timeout: float, max_bytes: int, deadline):
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment: the connection goes where it was vetted
    session.mount(f"{target.scheme}://", _PinnedAdapter(target))
    # identity: the byte cap applies to what is on the wire, not to a decompressed bomb
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers, "Host": _host_header(target)}
    started = time.monotonic()
    try:
        response = session.request(
            method,
            target.url,
            data=data,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        )
        try:
            body, truncated = bytearray(), False
            for chunk in response.iter_content(chunk_size=8192):
                body.extend(chunk)
                if len(body) > max_bytes:
                    body, truncated = body[:max_bytes], True
                    break
                if time.monotonic() > deadline:
                    raise OutboundError(f"the response took longer than {timeout:g}s")
        finally:
            response.close()
    except requests.RequestException as exc:
        raise OutboundError(_describe(exc, timeout)) from exc
    finally:
        session.close()
    return OutboundResponse(
        status_code=response.status_code,
        headers=dict(response.headers),
        body=bytes(body),
        truncated=truncated,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


def _describe(exc: Exception, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"timed out after {timeout:g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: the certificate could not be verified"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return f"request failed: {type(exc).__name__}"


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10.0,
    max_bytes: int = 1024 * 1024,
    follow_redirects: int = 0,
) -> OutboundResponse:
    """Fetch a tenant-configured URL under the SSRF policy. Raises OutboundRefused (policy) or
    OutboundError (network); any HTTP status is returned, including redirects not followed."""
    deadline = time.monotonic() + timeout
    hops = 0
    while True:
        target = vet(url)
        response = _send(target, method, data, headers or {}, timeout, max_bytes, deadline)
        location = response.headers.get("Location")
        if response.status_code not in REDIRECT_STATUSES or not location or hops >= follow_redirects:
            return response
        hops += 1
        url = urljoin(url, location)  # the next hop is vetted again
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, data = "GET", None
