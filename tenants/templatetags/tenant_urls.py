from django import template

from ..routing import tenant_url as _tenant_url

register = template.Library()


@register.simple_tag(takes_context=True)
def tenant_url(context, name: str, **kwargs) -> str:
    """{% tenant_url "login" %}: a URL of the current tenant, under the prefix of this request."""
    return _tenant_url(context["request"], name, **kwargs)
