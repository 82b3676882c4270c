"""Password sign-in to a tenant: throttle, verify, record, start the tenant session."""

from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import transaction

from lumoauth.events.api import Outcome, Ref, client_ip, record, user_ref

from ..models import Tenant, User
from . import session, throttle

GENERIC_FAILURE = "Incorrect username, email or password."
THROTTLED = "Too many failed attempts. Please wait a few minutes and try again."


@dataclass(frozen=True)
class SignInResult:
    user: User | None = None
    error: str | None = None
    retry_after: int = 0


def sign_in_with_password(request, tenant: Tenant, identifier: str, password: str) -> SignInResult:
    """Try `identifier` (username or email) and `password` against `tenant`'s directory.

    Every outcome gets the same message for unknown accounts, wrong passwords and deactivated
    users, so the page tells nobody which accounts exist.
    """
    keys = throttle.keys_for(tenant.pk, identifier, client_ip(request))
    attempted = Ref("identifier", "", identifier[:255])
    wait = throttle.retry_after(keys)
    if wait:
        record(
            "login.failed",
            tenant=tenant,
            request=request,
            outcome=Outcome.DENIED,
            target=attempted,
            details={"reason": "throttled", "method": "password"},
        )
        return SignInResult(error=THROTTLED, retry_after=wait)

    user = authenticate(request, username=identifier, password=password, tenant=tenant)
    if user is None:
        throttle.record_failure(keys)
        record(
            "login.failed",
            tenant=tenant,
            request=request,
            outcome=Outcome.FAILURE,
            target=attempted,
            details={"reason": "invalid_credentials", "method": "password"},
        )
        return SignInResult(error=GENERIC_FAILURE)

    throttle.clear_account(keys)
    with transaction.atomic():
        session.sign_in(request, tenant, user, amr=["pwd"])
        record(
            "login.succeeded",
            tenant=tenant,
            request=request,
            actor=user_ref(user),
            target=user_ref(user),
            details={"method": "password"},
        )
    return SignInResult(user=user)


def sign_out(request, tenant: Tenant) -> None:
    user = request.user
    actor = user_ref(user) if user.is_authenticated else None
    if session.sign_out(request, tenant) and actor:
        record("logout", tenant=tenant, request=request, actor=actor, target=actor)
