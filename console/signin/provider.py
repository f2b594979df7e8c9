"""Sign-in through the team's identity provider (OpenID Connect): talking to the provider.

mozilla-django-oidc runs the authorization-code flow with PKCE, ``state`` and ``nonce``; the
ID token is checked by PyJWT against the provider's published keys (fetched for each sign-in,
so a rotated key is found), with the issuer, the audience and the expiry required. What is the
console's own here: where the endpoints come from (the issuer's discovery document), the views
and their words, and the end of the provider's session at log-out. Who may enter, and as whom,
is ``console/signin/entry.py``'s.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from console.signin.audit import METHOD_KEY, sign_in_recorded, sign_in_refused
from console.signin.backends import MemberBackend
from console.signin.entry import Claims, Entrance, Refused, refusal_words

log = logging.getLogger(__name__)


DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
DISCOVERY_TTL = 3600.0
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}
_discovery_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read."""


def enabled() -> bool:
    return bool(getattr(settings, "CONSOLE_OIDC_ISSUER", ""))


def discovery() -> dict[str, Any]:
    """The issuer's ``/.well-known/openid-configuration``, kept for an hour."""
    issuer = settings.CONSOLE_OIDC_ISSUER
    with _discovery_lock:
        kept = _discovery.get(issuer)
        if kept and time.monotonic() - kept[0] < DISCOVERY_TTL:
            return kept[1]
    try:
        response = requests.get(
            f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(str(type(exc).__name__)) from None
    required = ("authorization_endpoint", "token_endpoint", "jwks_uri")
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/") or not all(
        document.get(key) for key in required
    ):
        raise ProviderUnavailable("the discovery document does not describe this issuer")
    with _discovery_lock:
        _discovery[issuer] = (time.monotonic(), document)
    return document


def oidc_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, with the endpoints taken from discovery."""
    if attr in DISCOVERED:
        return discovery().get(DISCOVERED[attr])  # the user-info endpoint is optional
    return import_from_settings(attr, *args)


class ProviderBackend(OIDCAuthenticationBackend):
    """Who may enter, matched by the provider's subject first, and their role from its groups.

    Django builds every backend for every sign-in, password ones included, so nothing here
    asks the provider until a callback actually carries a code; and a signed-in member is read
    back (active only, with their role) as MemberBackend reads them.
    """

    get_settings = staticmethod(oidc_setting)
    get_user = MemberBackend.get_user

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = import_from_settings("OIDC_RP_CLIENT_ID", "")
        self.OIDC_RP_CLIENT_SECRET = import_from_settings("OIDC_RP_CLIENT_SECRET", "")
        self.OIDC_RP_SIGN_ALGO = import_from_settings("OIDC_RP_SIGN_ALGO", "RS256")
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if request is None or not enabled() or "code" not in request.GET:
            return None  # a password sign-in, or no provider: not this backend's
        for attr in ("OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT"):
            setattr(self, attr, oidc_setting(attr))
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        """PyJWT checks signature, issuer, audience and expiry (the library's default leaves
        the audience and issuer unchecked)."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("the ID token is not signed with the expected algorithm")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=discovery()["issuer"],  # exactly as the provider writes it in its tokens
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=60,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"the ID token was refused: {type(exc).__name__}") from None

    def get_or_create_user(self, access_token: Any, id_token: Any, payload: dict[str, Any]) -> Any:
        info = (
            self.get_userinfo(access_token, id_token, payload) if self.OIDC_OP_USER_ENDPOINT else {}
        )
        if info.get("sub") not in (None, payload.get("sub")):
            raise SuspiciousOperation("the user information is about someone else")
        claims = Claims.of({**info, **payload})
        entrance = Entrance(self.request)
        try:
            user = entrance.member(claims)
        except Refused as refused:
            sign_in_refused(self.request, method="oidc", reason=str(refused), name=claims.email)
            messages.error(self.request, refusal_words(str(refused)))
            self.request.console_refused = True
            return None
        entrance.apply_role(user, claims)
        return user


class ProviderSignIn(OIDCAuthenticationRequestView):
    """``/login/oidc/``: off to the provider, with PKCE, state and nonce."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404("Sign-in through an identity provider is not set up.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable:
            messages.error(
                request,
                f"{settings.CONSOLE_OIDC_NAME} could not be reached. Try again in a moment"
                + (", or log in with your password." if settings.CONSOLE_PASSWORD_LOGIN else "."),
            )
            return HttpResponseRedirect(reverse("console:login"))
        self.OIDC_RP_CLIENT_ID = oidc_setting("OIDC_RP_CLIENT_ID")
        return super().get(request)


class ProviderCallback(OIDCAuthenticationCallbackView):
    """``/login/oidc/callback/``: the provider's answer. Anything wrong with it is a plain
    message on the log-in page and an audit event, never an error page."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404("Sign-in through an identity provider is not set up.")
        try:
            response = super().get(request)
        except (SuspiciousOperation, PermissionDenied) as exc:
            return self._failed(request, str(exc) or type(exc).__name__)
        except (requests.RequestException, ProviderUnavailable, ValueError, KeyError) as exc:
            log.warning("sign-in through the identity provider failed: %s", type(exc).__name__)
            return self._failed(
                request, f"the provider could not be reached ({type(exc).__name__})"
            )
        return response

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        sign_in_recorded(self.request, self.user, "oidc")
        return response

    def login_failure(self) -> HttpResponse:
        if getattr(self.request, "console_refused", False):
            return HttpResponseRedirect(reverse("console:login"))  # said and audited already
        if self.request.GET.get("error"):
            return self._failed(self.request, "the provider did not sign you in", said="cancelled")
        return self._failed(self.request, "the sign-in could not be completed")

    def _failed(self, request: HttpRequest, reason: str, *, said: str = "") -> HttpResponse:
        sign_in_refused(request, method="oidc", reason=reason)
        words = (
            f"{settings.CONSOLE_OIDC_NAME} did not sign you in."
            if said == "cancelled"
            else f"Signing in through {settings.CONSOLE_OIDC_NAME} did not work, and nothing "
            "was changed. Please try again."
        )
        messages.error(request, words)
        return HttpResponseRedirect(reverse("console:login"))


def end_session_url(request: HttpRequest) -> str | None:
    """Where to send the browser after log-out so the provider's session ends too: its
    end-session endpoint with our client id (no token in the address), or None."""
    if not enabled() or request.session.get(METHOD_KEY) != "oidc":
        return None
    try:
        endpoint = discovery().get("end_session_endpoint")
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    back = request.build_absolute_uri(reverse("console:login"))
    query = urlencode({"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": back})
    return f"{endpoint}?{query}"
