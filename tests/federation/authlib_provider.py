"""An OpenID Provider built with Authlib's authorization server (authlib.oauth2 + authlib.oidc.core),
served over HTTP by a small WSGI app in a thread. Tests switch on `defect` to make it misbehave in
one precise way (a forged signature, another audience, another nonce, an expired token, ...)."""

import json
import threading
import time
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode, UserInfo
from joserfc.jwk import RSAKey


@dataclass
class ProviderClient(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    user: dict
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code, request):
        data = request.payload.data
        self.server.provider.codes[code] = Code(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri"),
            scope=data.get("scope", ""),
            nonce=data.get("nonce"),
            user=request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )
        self.server.provider.authorization_requests.append(dict(data))

    def query_authorization_code(self, code, client):
        found = self.server.provider.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code):
        self.server.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class IDTokens(OpenIDCode):
    """ID tokens as Authlib makes them, with the provider's `defect` applied through its hooks."""

    def __init__(self, provider):
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce, request):
        return False

    def resolve_client_private_key(self, client):
        # A key with the published kid but another private key: the signature cannot verify.
        return self.provider.rogue_key if self.provider.defect == "bad_signature" else self.provider.key

    def get_client_algorithm(self, client):
        return "RS256"

    def get_encode_header(self, client):
        return {"alg": "RS256", "kid": self.resolve_client_private_key(client).kid}

    def get_client_claims(self, client):
        defect, now = self.provider.defect, int(time.time())
        claims = {"iss": self.provider.issuer, "aud": [client.client_id], "iat": now, "exp": now + 300}
        if defect == "wrong_audience":
            claims["aud"] = ["another-client"]
        elif defect == "extra_audience":
            claims["aud"] = [client.client_id, "another-client"]  # and no azp
        elif defect == "wrong_issuer":
            claims["iss"] = "https://impostor.example"
        elif defect == "expired":
            claims.update(iat=now - 3600, exp=now - 600)
        return claims

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        if self.provider.defect == "wrong_nonce":
            claims["nonce"] = "not-the-nonce-you-sent"
        return claims

    def generate_user_info(self, user, scope):
        return UserInfo(**user)


class Server(AuthorizationServer):
    def __init__(self, provider):
        super().__init__()
        self.provider = provider
        self.register_token_generator("default", BearerTokenGenerator(lambda **_: generate_token(32)))
        self.register_grant(CodeGrant, [CodeChallenge(required=True), IDTokens(provider)])

    def query_client(self, client_id):
        return self.provider.clients.get(client_id)

    def save_token(self, token, request):
        self.provider.access_tokens[token["access_token"]] = request.user

    def create_oauth2_request(self, request):
        return request

    def handle_response(self, status, body, headers):
        return status, body, headers

    def send_signal(self, name, *args, **kwargs):
        pass


class WSGIOAuth2Request(OAuth2Request):
    def __init__(self, environ, base: str):
        query = environ.get("QUERY_STRING", "")
        headers = {
            key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        super().__init__(environ["REQUEST_METHOD"], f"{base}{environ['PATH_INFO']}?{query}", headers=headers)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode() if length else ""
        self._args = dict(parse_qsl(query))
        self._form = dict(parse_qsl(body))
        self.payload = BasicOAuth2Payload({**self._args, **self._form})

    @property
    def args(self):
        return self._args

    @property
    def form(self):
        return self._form


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class AuthlibProvider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.rogue_key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.clients: dict[str, ProviderClient] = {}
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, dict] = {}
        self.authorization_requests: list[dict] = []
        self.user = {
            "sub": "u-1001",
            "email": "carol@corp.example",
            "email_verified": True,
            "name": "Carol Danvers",
            "given_name": "Carol",
            "groups": ["staff", "admins"],
        }
        self.defect: str | None = None
        self.deny = False  # the person refuses at the provider: error=access_denied
        self.send_iss: str | None = None  # RFC 9207 iss added to authorization responses
        self.userinfo_sub: str | None = None  # another sub in the userinfo response
        self.jwks_status = 200
        self.token_calls = 0
        self.server = Server(self)
        self.httpd = make_server("127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        self.issuer = f"http://127.0.0.1:{self.httpd.server_port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "AuthlibProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def register_client(self, redirect_uri: str) -> ProviderClient:
        client = ProviderClient(generate_token(16), generate_token(32), [redirect_uri])
        self.clients[client.client_id] = client
        return client

    def rotate_key(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"}, private=True)

    # The HTTP side.
    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": self.send_iss is not None,
        }

    def app(self, environ, start_response):
        request = WSGIOAuth2Request(environ, self.issuer)
        path = environ["PATH_INFO"]
        if path.endswith("/.well-known/openid-configuration"):  # under any prefix: the document names self.issuer
            status, body, headers = 200, self.metadata(), []
        elif path == "/jwks":
            status, body, headers = self.jwks_status, {"keys": [self.key.as_dict(private=False)]}, []
        elif path == "/authorize":
            status, body, headers = self.authorize(request)
        elif path == "/token":
            self.token_calls += 1
            status, body, headers = self.server.create_token_response(request)
        elif path == "/userinfo":
            status, body, headers = self.userinfo(environ)
        else:
            status, body, headers = 404, {"error": "not_found"}, []
        payload = json.dumps(body).encode() if isinstance(body, dict) else (body or "").encode()
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        headers.append(("Content-Type", "application/json" if isinstance(body, dict) else "text/plain"))
        start_response(f"{status} X", headers)
        return [payload]

    def authorize(self, request):
        try:
            grant = self.server.get_consent_grant(request, end_user=self.user)
        except OAuth2Error as error:
            return self.server.handle_error_response(request, error)
        status, body, headers = self.server.create_authorization_response(
            request, grant_user=None if self.deny else dict(self.user), grant=grant
        )
        if self.send_iss is not None:
            headers = [(k, _add_query(v, iss=self.send_iss) if k == "Location" else v) for k, v in headers]
        return status, body, headers

    def userinfo(self, environ):
        token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        user = self.access_tokens.get(token)
        if user is None:
            return 401, {"error": "invalid_token"}, [("WWW-Authenticate", 'Bearer error="invalid_token"')]
        claims = dict(user)
        if self.userinfo_sub:
            claims["sub"] = self.userinfo_sub
        return 200, claims, []


def _add_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
