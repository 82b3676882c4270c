"""Home-realm discovery: which external sign-in connection (SAML or OpenID Connect) serves an email.

The tenants app knows no connection model: the apps that own them (saml, oauth) register a source
in AppConfig.ready that lists a tenant's connections as `SignInConnection`s. An email is routed to
a connection only when that active connection lists the domain AND the tenant has verified its
claim to the domain (domains/claims.py): listing a domain proves nothing by itself.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ..models import Tenant
from ..policy import is_domain_name
from ..routing import tenant_url
from .claims import normalise
from .models import DomainClaim


@dataclass(frozen=True)
class SignInConnection:
    key: str  # the FederatedIdentity connection key: "saml:3", "oidc:5"
    kind: str  # "saml" or "oidc"
    name: str
    email_domains: tuple[str, ...]
    active: bool
    show_on_login: bool
    url_name: str  # the tenant URL that starts a sign-in through it
    url_kwargs: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)

    def login_url(self, request, *, next_url: str | None = None, login_hint: str = "") -> str:
        params = dict(self.query)
        if next_url:
            params["next"] = next_url
        if login_hint:
            params["login_hint"] = login_hint
        url = tenant_url(request, self.url_name, **self.url_kwargs)
        return f"{url}?{urlencode(params)}" if params else url


Source = Callable[[Tenant], Iterable[SignInConnection]]
_sources: list[Source] = []


def register(source: Source) -> Source:
    if source not in _sources:
        _sources.append(source)
    return source


def connections(tenant: Tenant) -> list[SignInConnection]:
    found = [c for source in _sources for c in source(tenant)]
    return sorted(found, key=lambda c: (c.name.lower(), c.key))


def connection_labels(tenant: Tenant) -> dict[str, str]:
    """Connection key -> readable name (for linked identities)."""
    return {c.key: c.name for c in connections(tenant)}


def login_buttons(tenant: Tenant) -> list[SignInConnection]:
    return [c for c in connections(tenant) if c.active and c.show_on_login]


def domain_conflicts(
    tenant: Tenant, domains: Iterable[str], *, exclude_key: str | None = None
) -> list[tuple[str, str]]:
    """(domain, connection name) for each domain another connection of the tenant already serves:
    one domain, one connection, across SAML and OpenID Connect."""
    wanted = {normalise(d) for d in domains}
    return sorted(
        (domain, other.name)
        for other in connections(tenant)
        if other.key != exclude_key
        for domain in wanted & set(other.email_domains)
    )


def email_domain(identifier: str) -> str | None:
    local, at, domain = identifier.strip().rpartition("@")
    domain = normalise(domain)
    return domain if at and local and is_domain_name(domain) else None


def routes_any(tenant: Tenant, among: list[SignInConnection]) -> bool:
    """Whether some email domain is routed (an active connection lists a verified domain)."""
    domains = {d for c in among if c.active for d in c.email_domains}
    return (
        bool(domains)
        and DomainClaim.objects.filter(tenant=tenant, domain__in=domains, verified_at__isnull=False).exists()
    )


def route(tenant: Tenant, identifier: str) -> SignInConnection | None:
    """The connection an email address signs in through, or None (password sign-in)."""
    domain = email_domain(identifier)
    if domain is None:
        return None
    serving = [c for c in connections(tenant) if c.active and domain in c.email_domains]
    if not serving or not DomainClaim.objects.filter(tenant=tenant, domain=domain, verified_at__isnull=False).exists():
        return None
    return serving[0]
