from django.shortcuts import render


def home(request):
    """The platform's landing page. It lists no tenants: each organization shares its own URL."""
    return render(request, "home.html")
