from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "tenant", "action", "outcome", "actor_label", "target_label", "ip_address")
    list_filter = ("outcome", "tenant")
    search_fields = ("action", "actor_label", "target_label")
    list_select_related = ("tenant",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
