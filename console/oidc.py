"""Sign-in through the team's identity provider (OpenID Connect).

mozilla-django-oidc runs the authorization-code flow with PKCE, ``state`` and ``nonce``; the
ID token is checked by PyJWT against the provider's published keys (fetched for each sign-in,
so a rotated key is found), with the issuer, the audience and the expiry required. What is the
console's own: where the endpoints come from (the issuer's discovery document), who may enter,
the role a provider group gives, and the words and audit events around it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from console.auth_backend import MemberBackend
from console.roles import Role
from console.selectors.team import admin_names, ask_admins
from console.services.audit import Actor, Target, audit_record
from console.services.emails import email_mark_confirmed
from console.services.team import PROVIDER, member_role_from_provider, set_role_groups
from console.sign_in import METHOD_KEY, sign_in_recorded, sign_in_refused

log = logging.getLogger(__name__)

DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
DISCOVERY_TTL = 3600.0
# "Link my account": the signed-in member's choice, kept in their session while they sign in at
# the provider; it must come back to the same session, signed in as the same member, in time.
LINK_KEY = "console_link_member"
LINK_TTL = 600.0
_discovery: dict[str, tuple[float, dict[str, Any]]] = {}
_discovery_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read."""


class Refused(Exception):
    """The provider vouched for someone the console does not let in; the message says why."""


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


def refusal_words(reason: str) -> str:
    return f"{reason} If you need access, {ask_admins(admin_names())}."


@dataclass(frozen=True)
class Claims:
    subject: str
    email: str
    email_verified: bool
    groups: list[str]
    name: str

    @classmethod
    def of(cls, merged: dict[str, Any]) -> Claims:
        claim = settings.CONSOLE_OIDC_ROLE_CLAIM
        raw = merged.get(claim, []) if claim else []
        groups = [raw] if isinstance(raw, str) else [str(g) for g in raw or [] if g is not None]
        verified = merged.get("email_verified")
        return cls(
            subject=str(merged.get("sub", "")),
            email=str(merged.get("email") or "").strip(),
            email_verified=verified is True or str(verified).lower() == "true",
            groups=groups,
            name=str(merged.get("preferred_username") or merged.get("name") or ""),
        )

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""


def mapped_role(groups: list[str]) -> Role | None:
    """The highest role CONSOLE_OIDC_ROLE_MAP gives these groups; None when none maps."""
    roles = [
        Role[settings.CONSOLE_OIDC_ROLE_MAP[g].upper()]
        for g in groups
        if g in settings.CONSOLE_OIDC_ROLE_MAP
    ]
    return max(roles) if roles else None


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
        try:
            user = self._member(claims)
        except Refused as refused:
            sign_in_refused(self.request, method="oidc", reason=str(refused), name=claims.email)
            messages.error(self.request, refusal_words(str(refused)))
            self.request.console_refused = True
            return None
        self._apply_role(user, claims)
        return user

    def _member(self, claims: Claims) -> Any:
        """The member this sign-in is: the one linked to this subject; the member who asked,
        signed in with their password, to link their account; or an account the console
        may link by a confirmed address; or, from an allowed domain, a new Viewer."""
        from console.models import MemberIdentity

        if not claims.subject:
            raise Refused("The identity provider did not say who you are.")
        issuer = settings.CONSOLE_OIDC_ISSUER.rstrip("/")  # one key, however it is written
        now = timezone.now()
        owner = self._link_intent()
        known = (
            MemberIdentity.objects.select_related("user")
            .filter(issuer=issuer, subject=claims.subject)
            .first()
        )
        if known is not None:
            if owner is not None and owner.pk != known.user_id:
                raise Refused(
                    f"This {settings.CONSOLE_OIDC_NAME} account is already linked to another "
                    "member of the console, so it was not linked to yours."
                )
            known.last_seen_at = now
            known.email = claims.email
            known.save(update_fields=["last_seen_at", "email"])
            return self._active(known.user)
        if owner is not None:
            return self._link_owner(owner, claims, issuer, now)
        users = get_user_model().objects
        if claims.email and claims.email_verified:
            same_address = list(users.filter(email__iexact=claims.email).order_by("pk"))
            invited = next((u for u in same_address if self._linkable(u, claims.email)), None)
            if invited is not None:
                self._link(invited, claims, issuer, now)
                return self._active(invited)
            if same_address:
                raise Refused(
                    f"An account in this console already uses {claims.email}, and the console "
                    "cannot tell that it is yours. If it is, log in with its password and choose "
                    f"“Link my account to {settings.CONSOLE_OIDC_NAME}” on Your settings."
                )
        allowed = settings.CONSOLE_OIDC_ALLOWED_DOMAINS
        if not (claims.email_verified and claims.domain and claims.domain in allowed):
            who = claims.email or "this account"
            raise Refused(f"The console does not know {who}.")
        with transaction.atomic():
            user = users.create_user(self._free_username(claims), email=claims.email)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            set_role_groups(user, Role.VIEWER)
            email_mark_confirmed(user, "provider")
            self._link(user, claims, issuer, now)
            audit_record(
                actor=PROVIDER,
                action="team.member_add",
                outcome="succeeded",
                target=Target("member", str(user.pk), user.get_username()),
                changes={"after": {"role": "Viewer", "source": "identity provider"}},
                request=self.request,
            )
        return user

    @staticmethod
    def _linkable(user: Any, email: str) -> bool:
        """An account the console may link by address alone: not linked yet, its address
        confirmed by the console (an Admin's invitation, or the member's mailed link), and no
        password of its own, whose owner would otherwise have to prove both."""
        from console.services.emails import email_state

        return (
            not hasattr(user, "console_identity")
            and not user.has_usable_password()
            and email_state(user).confirms(email)
        )

    def _link_intent(self) -> Any:
        """The signed-in member who chose "Link my account" a moment ago, in this browser."""
        intent = self.request.session.pop(LINK_KEY, None)
        user = getattr(self.request, "user", None)
        if not isinstance(intent, dict) or user is None or not user.is_authenticated:
            return None
        if intent.get("user") != user.pk or time.time() - float(intent.get("at", 0)) > LINK_TTL:
            return None
        return user

    def _link_owner(self, owner: Any, claims: Claims, issuer: str, now: Any) -> Any:
        from console.models import MemberIdentity

        if MemberIdentity.objects.filter(user=owner).exists():
            raise Refused(f"Your account is already linked to {settings.CONSOLE_OIDC_NAME}.")
        with transaction.atomic():
            self._link(owner, claims, issuer, now)
            audit_record(
                actor=Actor.of(owner),
                action="account.link",
                outcome="succeeded",
                target=Target("member", str(owner.pk), owner.get_username()),
                changes={"provider": settings.CONSOLE_OIDC_NAME, "provider_email": claims.email},
                request=self.request,
            )
        return self._active(owner)

    @staticmethod
    def _link(user: Any, claims: Claims, issuer: str, now: Any) -> None:
        """Remember who this member is at the provider, for their next sign-ins."""
        from console.models import MemberIdentity

        MemberIdentity.objects.create(
            user=user,
            issuer=issuer,
            subject=claims.subject,
            email=claims.email,
            first_seen_at=now,
            last_seen_at=now,
        )

    @staticmethod
    def _active(user: Any) -> Any:
        if not user.is_active:
            raise Refused("Your account in this console is deactivated.")
        return user

    @staticmethod
    def _free_username(claims: Claims) -> str:
        base = (claims.email.partition("@")[0] or claims.name or "member")[:140]
        base = "".join(c for c in base if c.isalnum() or c in "._-+") or "member"
        taken = set(
            get_user_model()
            .objects.filter(username__startswith=base)
            .values_list("username", flat=True)
        )
        if base not in taken:
            return base
        return next(f"{base}{n}" for n in range(2, 10_000) if f"{base}{n}" not in taken)

    def _apply_role(self, user: Any, claims: Claims) -> None:
        """With CONSOLE_OIDC_ROLE_CLAIM and a role map, each sign-in sets the role from the
        provider; a role it no longer grants goes (down to Viewer). Audited as on the Team page,
        with the provider as the source."""
        from console.models import MemberIdentity

        if not (settings.CONSOLE_OIDC_ROLE_CLAIM and settings.CONSOLE_OIDC_ROLE_MAP):
            return
        if user.is_superuser:
            return  # a superuser is always an Admin; the provider neither grants nor removes it
        MemberIdentity.objects.filter(user=user).update(role_from_provider=True)
        member_role_from_provider(
            member=user, role=mapped_role(claims.groups) or Role.VIEWER, request=self.request
        )


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


def link_intent_set(request: HttpRequest) -> None:
    """The signed-in member chose "Link my account to <provider>"; ``ProviderSignIn`` follows."""
    request.session[LINK_KEY] = {"user": request.user.pk, "at": time.time()}


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
