"""Django admin for platform operators: create, rename, suspend and reactivate tenants.

Changes go through tenants.services so they are audited; tenants are never deleted (their audit
history references them), they are suspended.
"""

from django.contrib import admin, messages

from lumoauth.events.api import user_ref

from .models import Group, SigningKey, Tenant, User
from .services.tenants import create_tenant, set_tenant_status, update_tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name")
    actions = ("suspend", "activate")

    def get_readonly_fields(self, request, obj=None):
        return ("slug", "status", "created_at") if obj else ("status", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        actor = user_ref(request.user)
        if change:
            update_tenant(obj, actor=actor, request=request, name=obj.name, settings=obj.settings)
        else:
            created = create_tenant(obj.slug, obj.name, actor=actor, request=request, settings=obj.settings)
            obj.pk, obj._state.adding = created.pk, False

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request, queryset):
        for tenant in queryset:
            set_tenant_status(tenant, Tenant.Status.SUSPENDED, actor=user_ref(request.user), request=request)
        messages.success(request, f"Suspended {queryset.count()} tenant(s).")

    @admin.action(description="Reactivate selected tenants")
    def activate(self, request, queryset):
        for tenant in queryset:
            set_tenant_status(tenant, Tenant.Status.ACTIVE, actor=user_ref(request.user), request=request)
        messages.success(request, f"Reactivated {queryset.count()} tenant(s).")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Directories are run by each tenant's admins (portal, SCIM); operators only look."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "email", "tenant", "is_active", "is_tenant_admin")
    list_filter = ("tenant", "is_active", "is_tenant_admin")
    search_fields = ("username", "email")
    exclude = ("password",)


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "tenant")
    list_filter = ("tenant",)
    search_fields = ("name",)


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    """Keys are rotated with `manage.py rotatekeys`; the admin shows public facts only."""

    list_display = ("tenant", "kid", "alg", "state", "created_at")
    list_filter = ("alg", "tenant")
    search_fields = ("kid", "tenant__slug")
    list_select_related = ("tenant",)
    # An explicit field list, so the encrypted private key is never rendered, not even as bytes.
    fields = (
        "tenant",
        "kid",
        "alg",
        "state",
        "public_jwk",
        "created_at",
        "activated_at",
        "retired_at",
        "unpublish_after",
    )
    readonly_fields = fields
