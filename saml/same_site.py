"""SAML's HTTP-POST binding arrives as a cross-site POST: the other party's page submits a form to
us. Browsers do not send our SameSite=Lax session cookie with it, so the browser's session (who is
signed in, our outstanding AuthnRequests) would be missing and the sign-in would fail.

When a browser tells us (Sec-Fetch-Site: cross-site) that such a POST came without the session
cookie, we answer with a page of our own that posts the same fields again: a same-site POST, which
carries the cookie. (Relaxing the session cookie to
SameSite=None instead would weaken every other form of the site.)
"""

from functools import wraps

from django.conf import settings
from django.shortcuts import render

RESUBMITTED = "lumo_same_site"
MAX_FIELDS = 10  # SAMLRequest/SAMLResponse, RelayState, SigAlg, Signature


def resubmit_cross_site_post(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if (
            request.method == "POST"
            # Fetch Metadata: the browser says the form came from another site (a Lax cookie was withheld).
            and request.headers.get("Sec-Fetch-Site") == "cross-site"
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and RESUBMITTED not in request.POST
        ):
            fields = [(name, value) for name, values in request.POST.lists() for value in values][:MAX_FIELDS]
            context = {"action": request.get_full_path(), "fields": fields, "marker": RESUBMITTED}
            response = render(request, "saml/resubmit.html", context)
            response["Cache-Control"] = "no-store"
            response["Referrer-Policy"] = "no-referrer"
            return response
        return view(request, *args, **kwargs)

    return wrapper
