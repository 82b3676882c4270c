from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


def home(request):
    """The platform's landing page. It lists no tenants: each organization shares its own URL."""
    return render(request, "home.html")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
