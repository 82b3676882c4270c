"""Signing out everywhere: the tenant's sign-out (the hosted sign-out page, an OIDC client's
RP-initiated logout) also reaches the applications the browser signed in to through other
protocols, front channel - SAML service providers get a LogoutRequest each (SAML profiles §4.4.3:
the identity provider "MUST attempt to" tell every session participant).

Apps register a chain in their AppConfig.ready (tenants imports no app). Before the session ends,
each chain captures what it needs from it; afterwards the browser goes through the chain and ends at
`return_to`.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from django.http import HttpResponse

from .password import sign_out


class LogoutChain(Protocol):
    def capture(self, request, tenant) -> Any:
        """What the chain needs from the session about to end (falsy: nothing to do)."""

    def start(self, request, tenant, captured, return_to: str) -> HttpResponse:
        """The response that takes the browser through the chain, ending at `return_to`."""


@dataclass
class _Registry:
    chains: list


_registry = _Registry([])


def register(chain: LogoutChain) -> None:
    if chain not in _registry.chains:
        _registry.chains.append(chain)


def sign_out_everywhere(request, tenant, return_to: str) -> HttpResponse | None:
    """End the tenant sign-in (audited), then start the first chain that has participants (one
    protocol has front-channel participants today: SAML). None: no chain to run, the caller answers."""
    captured = [(chain, chain.capture(request, tenant)) for chain in _registry.chains]
    sign_out(request, tenant)
    for chain, state in captured:
        if state:
            return chain.start(request, tenant, state, return_to)
    return None
