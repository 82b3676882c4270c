"""Groups of the tenant: list, create, rename, delete; members added and removed one by one."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from tenants.models import Group, User
from tenants.routing import tenant_url
from tenants.services.groups import add_member, create_group, delete_group, remove_member, update_group

from ..access import tenant_admin_required
from ..forms import add_service_errors

PAGE_SIZE = 25


class GroupForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class MemberForm(forms.Form):
    identifier = forms.CharField(label="Add a member (username or email)", max_length=254)


def _group(request, uid):
    return Group.objects.filter(tenant=request.tenant, uid=uid).first()


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def group_list(request):
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = create_group(
                request.tenant,
                form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                actor=user_ref(request.user),
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Group {group.name} created.")
            return HttpResponseRedirect(tenant_url(request, "portal-groups"))
    query = request.GET.get("q", "").strip()[:100]
    groups = Group.objects.filter(tenant=request.tenant).annotate(member_count=Count("memberships")).order_by("name")
    if query:
        groups = groups.filter(Q(name__icontains=query) | Q(description__icontains=query))
    page = Paginator(groups, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/groups.html",
        {"page": page, "query": query, "form": form, "section": "groups"},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def group_detail(request, uid):
    group = _group(request, uid)
    if group is None:
        return error_response(request, 404)
    form = GroupForm(
        request.POST if request.POST.get("form") == "group" else None,
        initial={"name": group.name, "description": group.description},
    )
    member_form = MemberForm(request.POST if request.POST.get("form") == "member" else None)
    actor = user_ref(request.user)
    if form.is_bound and form.is_valid():
        try:
            update_group(group, actor=actor, request=request, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Group saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-group", uid=group.uid))
    if member_form.is_bound and member_form.is_valid():
        identifier = member_form.cleaned_data["identifier"]
        user = (
            User.objects.filter(tenant=request.tenant)
            .filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))
            .first()
        )
        if user is None:
            member_form.add_error("identifier", "No user of this organization has that username or email.")
        else:
            add_member(group, user, actor=actor, request=request)
            messages.success(request, f"{user.username} added.")
            return HttpResponseRedirect(tenant_url(request, "portal-group", uid=group.uid))
    members = Paginator(group.members.order_by("username"), PAGE_SIZE).get_page(request.GET.get("page"))
    bound = form.is_bound or member_form.is_bound
    return render(
        request,
        "portal/group.html",
        {"group": group, "form": form, "member_form": member_form, "members": members, "section": "groups"},
        status=400 if bound else 200,
    )


@require_POST
@tenant_admin_required
def group_remove_member(request, uid, sub):
    group = _group(request, uid)
    user = User.objects.filter(tenant=request.tenant, sub=sub).first()
    if group is None or user is None:
        return error_response(request, 404)
    remove_member(group, user, actor=user_ref(request.user), request=request)
    messages.success(request, f"{user.username} removed.")
    return HttpResponseRedirect(tenant_url(request, "portal-group", uid=group.uid))


@require_POST
@tenant_admin_required
def group_delete(request, uid):
    group = _group(request, uid)
    if group is None:
        return error_response(request, 404)
    name = group.name
    delete_group(group, actor=user_ref(request.user), request=request)
    messages.success(request, f"Group {name} deleted.")
    return HttpResponseRedirect(tenant_url(request, "portal-groups"))
