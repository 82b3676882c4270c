from django import template

from lumoauth.urls_public import public_url

from ..routing import tenant_url as _tenant_url

register = template.Library()


@register.simple_tag(takes_context=True)
def tenant_url(context, name: str, **kwargs) -> str:
    """{% tenant_url "login" %}: a URL of the current tenant, under the prefix of this request."""
    return _tenant_url(context["request"], name, **kwargs)


@register.simple_tag(takes_context=True)
def public_tenant_url(context, name: str, **kwargs) -> str:
    """{% public_tenant_url "register" %}: the absolute URL applications use (under LUMOAUTH_BASE_URL)."""
    request = context["request"]
    return public_url(_tenant_url(request, name, **kwargs), request)
