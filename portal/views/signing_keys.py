"""The tenant's JWT signing keys: their states, and "Rotate now" (tenants.signing_keys.api)."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from lumoauth.events.api import user_ref
from tenants.routing import tenant_url
from tenants.signing_keys.api import SigningKey, key_health, published_keys, rotate_keys

from ..access import tenant_admin_required

HISTORY_SHOWN = 10  # expired keys listed below the published ones (all stay in the database)


class RotateForm(forms.Form):
    alg = forms.ChoiceField(
        label="Algorithm of the new next key",
        choices=SigningKey.Algorithm.choices,
        help_text="The next key, already published, signs from now on; the new next key is made with this "
        "algorithm and signs from the following rotation.",
    )


def _render(request, form=None, status=200):
    now = timezone.now()
    published = published_keys(request.tenant)  # active first, then next, then retiring
    if form is None:
        # Default: the algorithm of the newest key (the next one), so rotating keeps the latest choice.
        form = RotateForm(initial={"alg": max(published, key=lambda key: key.created_at).alg})
    expired = SigningKey.objects.filter(tenant=request.tenant, unpublish_after__lte=now).order_by("-created_at")
    keys = [(key, key.state_at(now)) for key in [*published, *expired[:HISTORY_SHOWN]]]
    context = {"keys": keys, "form": form, "health": key_health(request.tenant, now=now), "section": "signing-keys"}
    return render(request, "portal/signing_keys.html", context, status=status)


@require_GET
@tenant_admin_required
def key_list(request):
    return _render(request)


@require_POST
@tenant_admin_required
def key_rotate(request):
    form = RotateForm(request.POST)
    if not form.is_valid():
        return _render(request, form, status=400)
    active = rotate_keys(request.tenant, alg=form.cleaned_data["alg"], actor=user_ref(request.user), request=request)
    messages.success(
        request,
        f"Keys rotated: the {active.alg} key {active.kid} signs from now on. The previous key stays published "
        "until what it signed has expired.",
    )
    return HttpResponseRedirect(tenant_url(request, "portal-signing-keys"))
