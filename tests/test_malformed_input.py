"""No page answers 500 to malformed input: empty, huge, wrong content type, invalid UTF-8."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/healthz",
    "/admin/login/",
    "/t/acme/",
    "/t/acme/login",
    "/t/acme/logout",
    "/t/acme/account",
    "/orgs/acme/login",
    "/t/nope/login",
    "/t/acme/api/v1/anything",
    "/no/such/page",
]


@pytest.fixture
def anyone(tenant):
    # raise_request_exception (the default) turns any server error into a failing test.
    return Client()


def ok(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert b"Traceback" not in response.content
    return response


@pytest.mark.parametrize("path", PAGES)
def test_empty_post(anyone, path):
    ok(anyone.post(path, data=b"", content_type="application/x-www-form-urlencoded"))


@pytest.mark.parametrize("path", PAGES)
def test_huge_body_is_refused_cleanly(anyone, path, settings):
    body = b"identifier=" + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b"&password=x"
    ok(anyone.post(path, data=body, content_type="application/x-www-form-urlencoded"))


@pytest.mark.parametrize("path", PAGES)
def test_too_many_fields(anyone, path):
    body = "&".join(f"f{i}=1" for i in range(5000)).encode()
    ok(anyone.post(path, data=body, content_type="application/x-www-form-urlencoded"))


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=zzz",
        "multipart/form-data",
        "application/xml",
        "nonsense",
    ],
)
@pytest.mark.parametrize("path", ["/t/acme/login", "/t/acme/account", "/t/acme/logout", "/admin/login/"])
def test_wrong_content_type(anyone, path, content_type):
    ok(anyone.post(path, data=b'{"identifier": "alice"}\xff\xfe--zzz\r\n', content_type=content_type))


@pytest.mark.parametrize("path", ["/t/acme/login", "/t/acme/account", "/admin/login/"])
def test_invalid_utf8_in_body(anyone, path):
    ok(
        anyone.post(
            path, data=b"identifier=%ff%fe\xc3\x28&password=\xff", content_type="application/x-www-form-urlencoded"
        )
    )


@pytest.mark.parametrize("path", ["/t/acme/login", "/t/acme/account", "/t/acme/logout", "/"])
def test_invalid_utf8_in_query_string(anyone, path):
    # WSGI carries raw bytes as latin-1 characters: these are the bytes FF FE C3 28, not UTF-8.
    ok(anyone.get(path, QUERY_STRING="next=%ff%fe%c3%28&x=\xff\xfe\xc3\x28"))


def test_invalid_utf8_in_path(anyone):
    ok(anyone.get("/t/%ff%fe/login"))
    ok(anyone.get("/t/acme/login%c3%28"))
    ok(anyone.get("/t/acme%00/login"))


def test_overlong_and_odd_values_on_sign_in(anyone):
    ok(anyone.post("/t/acme/login", {"identifier": "x" * 100_000, "password": "y" * 100_000}))
    ok(anyone.post("/t/acme/login", {"identifier": "\x00\x01", "password": "\x00"}))
    ok(anyone.post("/t/acme/login", {"identifier": ["a", "b"], "password": ["c", "d"]}))
    ok(anyone.post("/t/acme/login", {"identifier": "a", "password": "b", "next": "\x00" * 5000}))


def test_unsupported_methods(anyone):
    for method in ("put", "patch", "delete", "options"):
        response = ok(getattr(anyone, method)("/t/acme/login"))
        assert response.status_code == 405
