"""Password authentication scoped to one tenant's directory."""

from django.contrib.auth.backends import BaseBackend

from .models import Tenant, User


class DirectoryBackend(BaseBackend):
    """`authenticate(request, username=..., password=..., tenant=...)`.

    With a tenant, the identifier is matched against that tenant's usernames, then emails; with no
    tenant, only platform operators match (Django admin). A user of another tenant is never found.
    """

    def authenticate(self, request, username=None, password=None, tenant: Tenant | None = None, **kwargs):
        if not username or password is None:
            return None
        users = User.objects.filter(tenant=tenant) if tenant is not None else User.objects.filter(tenant__isnull=True)
        user = users.filter(username__iexact=username).first()
        if user is None and "@" in username:
            user = users.filter(email__iexact=username).first()
        if user is None:
            # Hash anyway so an unknown identifier takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and user.is_active:
            return user
        return None

    def get_user(self, user_id):
        # Django's own session key is used by platform operators only; tenant sessions are
        # resolved by tenants.signin.session for the tenant in the URL.
        return User.objects.filter(pk=user_id, tenant__isnull=True, is_active=True).first()
