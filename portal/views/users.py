"""Users of the tenant: list and search, create, the user's page (claims, and what user_security.py
manages: identities, consents, tokens, sessions), deactivate and reactivate, delete."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from tenants.models import User
from tenants.routing import tenant_url
from tenants.services.users import create_user, delete_user, set_active, update_user

from ..access import tenant_admin_required
from ..forms import UserForm, add_service_errors
from .user_security import security_context

PAGE_SIZE = 25


def _find(request, sub):
    return User.objects.filter(tenant=request.tenant, sub=sub).first()


@require_http_methods(["GET"])
@tenant_admin_required
def user_list(request):
    query = request.GET.get("q", "").strip()[:100]
    users = User.objects.filter(tenant=request.tenant).order_by("username")
    if query:
        users = users.filter(
            Q(username__icontains=query)
            | Q(email__icontains=query)
            | Q(name__icontains=query)
            | Q(given_name__icontains=query)
            | Q(family_name__icontains=query)
        )
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/users.html", {"page": page, "query": query, "section": "users"})


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def user_create(request):
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = create_user(
                request.tenant,
                form.cleaned_data["username"],
                password=form.cleaned_data["password"] or None,
                actor=user_ref(request.user),
                request=request,
                **form.claims(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"User {user.username} created.")
            return HttpResponseRedirect(tenant_url(request, "portal-users"))
    return render(
        request,
        "portal/user_form.html",
        {"form": form, "creating": True, "section": "users"},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def user_edit(request, sub):
    user = _find(request, sub)
    if user is None:
        return error_response(request, 404)
    initial = {f: getattr(user, f) for f in UserForm.base_fields if f != "password"}
    form = UserForm(request.POST or None, initial=initial)
    form.fields["password"].widget = form.fields["password"].hidden_widget()
    if request.method == "POST" and form.is_valid():
        try:
            update_user(
                user,
                actor=user_ref(request.user),
                request=request,
                username=form.cleaned_data["username"],
                **form.claims(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"User {user.username} saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-users"))
    return render(
        request,
        "portal/user_form.html",
        {"form": form, "account": user, "section": "users", **security_context(request, user)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@tenant_admin_required
def user_set_active(request, sub):
    user = _find(request, sub)
    if user is None:
        return error_response(request, 404)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot deactivate yourself.")
    else:
        active = request.POST.get("active") == "1"
        set_active(user, active, actor=user_ref(request.user), request=request)
        messages.success(request, f"User {user.username} {'reactivated' if active else 'deactivated'}.")
    return HttpResponseRedirect(tenant_url(request, "portal-users"))


@require_POST
@tenant_admin_required
def user_delete(request, sub):
    user = _find(request, sub)
    if user is None:
        return error_response(request, 404)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot delete yourself.")
        return HttpResponseRedirect(tenant_url(request, "portal-user", sub=user.sub))
    username = user.username
    delete_user(user, actor=user_ref(request.user), request=request)
    messages.success(request, f"User {username} deleted.")
    return HttpResponseRedirect(tenant_url(request, "portal-users"))
