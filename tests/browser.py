"""A user agent driven over real HTTP, for flows through the hosted sign-in and consent pages."""

import html
import re
from urllib.parse import urljoin

import requests

PASSWORD = "correct-horse-battery"


class Browser:
    """A user agent driven over real HTTP: it follows redirects inside the tenant, fills the
    sign-in form and answers the consent page; it stops at the client's redirect URI."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.last_page = None

    def _csrf(self, html: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def go(self, url: str, *, username="alice", password=PASSWORD, consent="allow", max_hops=8):
        """Returns the final response: a redirect away from the server, or a page it stopped at."""
        response = self.session.get(url, allow_redirects=False, timeout=10)
        for _ in range(max_hops):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not location.startswith(self.base_url):
                    return response
                response = self.session.get(location, allow_redirects=False, timeout=10)
                continue
            self.last_page = response
            page = response.text
            if 'name="password"' in page and username is not None:
                response = self.session.post(
                    response.url,
                    data={
                        "identifier": username,
                        "password": password,
                        "csrfmiddlewaretoken": self._csrf(page),
                        "next": html.unescape(re.search(r'name="next" value="([^"]*)"', page).group(1)),
                    },
                    headers={"Referer": response.url},
                    allow_redirects=False,
                    timeout=10,
                )
                username = None  # sign in once
                continue
            if 'name="decision"' in page and consent is not None:
                response = self.session.post(
                    response.url,
                    data={"decision": consent, "csrfmiddlewaretoken": self._csrf(page)},
                    headers={"Referer": response.url},
                    allow_redirects=False,
                    timeout=10,
                )
                consent = None
                continue
            return response
        raise AssertionError("too many hops")
