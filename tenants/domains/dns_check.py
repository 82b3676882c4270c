"""The DNS side of domain verification: look for `lumoauth-verification=<token>` in TXT records.

The record is looked up at `_lumoauth.<domain>` first (a dedicated name, which keeps the apex's TXT
set small), then at the domain itself. Lookups go through a dnspython resolver: the system's, or
the name servers in LUMOAUTH_DNS_NAMESERVERS (tests point it at a DNS server of their own).
"""

import ipaddress

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

RECORD_PREFIX = "_lumoauth"
VALUE_PREFIX = "lumoauth-verification="


class DNSLookupError(Exception):
    """The answer could not be obtained (timeout, no server answered): try again later."""


def _nameserver(spec: str) -> dns.nameserver.Do53Nameserver:
    """'192.0.2.53', '192.0.2.53:5353', '2001:db8::53' or '[2001:db8::53]:5353'."""
    spec = spec.strip()
    host, port = spec, 53
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = int(port_text)
    ipaddress.ip_address(host)  # ValueError for anything else
    return dns.nameserver.Do53Nameserver(host, port)


def make_resolver() -> dns.resolver.Resolver:
    """A resolver for verification lookups: the configured name servers, else the system's."""
    configured = [s for s in getattr(settings, "LUMOAUTH_DNS_NAMESERVERS", []) if s.strip()]
    resolver = dns.resolver.Resolver(configure=not configured)
    if configured:
        try:
            resolver.nameservers = [_nameserver(s) for s in configured]
        except ValueError as exc:
            raise ImproperlyConfigured(f"LUMOAUTH_DNS_NAMESERVERS: {exc}") from exc
    resolver.lifetime = float(getattr(settings, "LUMOAUTH_DNS_TIMEOUT", 5.0))
    resolver.cache = None  # a record just published must be seen on the next click
    return resolver


def txt_values(name: str, resolver: dns.resolver.Resolver) -> list[str]:
    """The TXT strings at `name` (each record's character-strings joined, RFC 7208 §3.3 style);
    an empty list when the name or the record type does not exist."""
    try:
        answer = resolver.resolve(dns.name.from_text(name), "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout, dns.exception.Timeout) as exc:
        raise DNSLookupError(f"no DNS server answered for {name}") from exc
    except dns.exception.DNSException as exc:
        raise DNSLookupError(f"the DNS lookup of {name} failed: {type(exc).__name__}") from exc
    values = []
    for record in answer:
        values.append(b"".join(record.strings).decode("utf-8", errors="replace"))
    return values


def published_token_found(domain: str, token: str, resolver: dns.resolver.Resolver | None = None) -> bool:
    """Whether `lumoauth-verification=<token>` is published at _lumoauth.<domain> or at <domain>."""
    resolver = resolver or make_resolver()
    expected = VALUE_PREFIX + token
    for name in (f"{RECORD_PREFIX}.{domain}.", f"{domain}."):
        if any(value.strip() == expected for value in txt_values(name, resolver)):
            return True
    return False
