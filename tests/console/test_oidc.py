"""Sign-in through the team's identity provider, against a real OpenID provider.

The provider is django-oauth-toolkit in its OpenID Connect mode, in a process of its own
(tests/oidc_provider): real discovery, real keys, real authorization codes with PKCE. The
console runs in Django's test client; the "browser" at the provider is a requests session that
fills in the provider's own log-in form. Faults (a stray signing key, another audience, an
expired token, a replayed nonce) are the provider's own switches, not a mocked endpoint.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from console.models import AuditEvent, MemberIdentity
from console.roles import Role, role_of
from console.settings.base import oidc_issuer_check, oidc_role_map
from console.signin import entry
from tests.oidc_provider.serve import PASSWORD, Provider, console_settings, provider

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
CONSOLE = "http://testserver"


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    with provider(CONSOLE) as running:
        yield running


@pytest.fixture
def sso(idp: Provider, settings: Any) -> Provider:
    idp.control(fault="")
    for name, groups in (("ana", ["ml-admins"]), ("olga", ["ml-ops"]), ("vic", [])):
        idp.control(user={"username": name, "groups": groups, "email_verified": True})
    for name, value in console_settings(idp, settings.CONTENT_SECURITY_POLICY).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "console.signin.provider.ProviderBackend",
    ]
    return idp


class Browser:
    """One person: the console in Django's test client, the provider over HTTP."""

    def __init__(self) -> None:
        self.console = Client()
        self.at_provider = requests.Session()

    def to_provider(self) -> str:
        """Click "Sign in with …": the console sends the browser to the provider."""
        start = self.console.get("/login/oidc/")
        assert start.status_code == 302, start.status_code
        return str(start["Location"])

    def sign_in_at_provider(self, authorize: str, username: str) -> str:
        """Sign in on the provider's page; returns the console callback it redirects to."""
        page = self.at_provider.get(authorize, allow_redirects=True, timeout=10)
        if "/accounts/login/" in page.url:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert token, page.text[:500]
            page = self.at_provider.post(
                page.url,
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "username": username,
                    "password": PASSWORD,
                    "next": parse_qs(urlsplit(page.url).query)["next"][0],
                },
                headers={"Referer": page.url},
                allow_redirects=False,
                timeout=10,
            )
            page = self.at_provider.get(
                urlsplit(authorize)._replace(path=page.headers["Location"], query="").geturl()
                if page.headers["Location"].startswith("/")
                else page.headers["Location"],
                allow_redirects=False,
                timeout=10,
            )
            location = page.headers["Location"]
        else:
            location = page.history[-1].headers["Location"] if page.history else page.url
        while not location.startswith(CONSOLE):
            page = self.at_provider.get(location, allow_redirects=False, timeout=10)
            location = page.headers["Location"]
        return location

    def back_to_console(self, callback: str) -> Any:
        parts = urlsplit(callback)
        return self.console.get(parts.path, dict(parse_qs(parts.query)))

    def sign_in(self, username: str) -> Any:
        return self.back_to_console(self.sign_in_at_provider(self.to_provider(), username))


def header(response: Any, client: Client) -> str:
    page = client.get("/runs/").content.decode()
    found = re.search(r'<span class="whoami">(.*?)</span></span>', page)
    return re.sub("<[^>]+>", "", found.group(1)) if found else ""


def said(client: Client) -> str:
    return client.get("/login/").content.decode()


def events(outcome: str | None = None) -> list[dict[str, Any]]:
    rows = AuditEvent.objects.filter(action="account.sign_in").order_by("seq")
    if outcome:
        rows = rows.filter(outcome=outcome)
    return [{**json.loads(e.changes), "message": e.message, "who": e.target_name} for e in rows]


def test_the_log_in_page_offers_the_provider_first(sso: Provider) -> None:
    body = Client().get("/login/").content.decode()
    assert body.index("Sign in with Team SSO") < body.index('name="password"')
    assert 'href="/login/oidc/"' in body


def test_first_sign_in_from_an_allowed_domain_makes_a_member_with_the_mapped_role(
    sso: Provider,
) -> None:
    browser = Browser()
    landed = browser.sign_in("olga")
    assert landed.status_code == 302 and landed["Location"] in ("/", "/models/")
    user = User.objects.get(email="olga@team.example")
    assert role_of(user) == Role.OPERATOR
    identity = MemberIdentity.objects.get(user=user)
    assert identity.issuer == sso.issuer and identity.role_from_provider
    assert header(landed, browser.console) == "olga · Operator"
    assert events("succeeded")[-1]["method"] == "oidc"
    # No code, state or token in the address the member ends on, nor in the session's keys.
    assert "code=" not in landed["Location"] and "state=" not in landed["Location"]


def test_someone_from_another_domain_is_refused_with_the_admins_named(
    sso: Provider, make_member: Any
) -> None:
    make_member("boss", Role.ADMIN)
    browser = Browser()
    refused = browser.sign_in("eve")
    assert refused.status_code == 302 and refused["Location"] == "/login/"
    page = said(browser.console)
    assert "The console does not know eve@elsewhere.example" in page
    assert "ask Admin boss" in page
    assert not User.objects.filter(email="eve@elsewhere.example").exists()
    assert events("failed")[-1]["method"] == "oidc"
    assert browser.console.get("/models/").status_code == 302  # not signed in


def invite(username: str, email: str, *, password: str | None = None) -> Any:
    """An Admin adds a member on the Team page, with the address they give."""
    from console.services.team import member_add

    admin = User.objects.filter(username="inviting-admin").first() or User.objects.create_user(
        "inviting-admin"
    )
    return member_add(
        actor=admin, username=username, email=email, role=Role.VIEWER, password=password
    ).user


def test_an_invited_member_is_matched_by_verified_email_and_keeps_their_account(
    sso: Provider, settings: Any
) -> None:
    settings.CONSOLE_OIDC_ALLOWED_DOMAINS = []
    invited = invite("vic-invited", "VIC@team.example")
    browser = Browser()
    browser.sign_in("vic")
    assert MemberIdentity.objects.get(user=invited).subject
    assert User.objects.filter(email__iexact="vic@team.example").count() == 1
    assert header(None, browser.console).startswith("vic-invited")


def test_an_unverified_email_does_not_match_an_invitation(sso: Provider, settings: Any) -> None:
    settings.CONSOLE_OIDC_ALLOWED_DOMAINS = []
    invite("vic-invited", "vic@team.example")
    sso.control(user={"username": "vic", "email_verified": False})
    Browser().sign_in("vic")
    assert not MemberIdentity.objects.exists()


def test_a_viewer_who_types_an_admins_address_does_not_become_that_admin(
    sso: Provider, make_member: Any
) -> None:
    """The reported path: a Viewer with a password saves an Admin's address on Your settings;
    the Admin's first provider sign-in must not link to (and promote) the Viewer's account."""
    from tests.console.conftest import PASSWORD as MEMBER_PASSWORD

    make_member("boss", Role.ADMIN)
    mallory = invite("mallory", "", password=MEMBER_PASSWORD)
    own = Client()
    assert (
        own.post("/login/", {"username": "mallory", "password": MEMBER_PASSWORD}).status_code == 302
    )
    saved = own.post("/account/notifications/", {"email": "ana@team.example", "theme": "system"})
    assert saved.status_code == 302
    change = AuditEvent.objects.get(action="account.email_change")
    assert json.loads(change.changes) == {
        "before": {"email": ""},
        "after": {"email": "ana@team.example"},
    }
    assert "not confirmed" in own.get("/account/notifications/").content.decode()

    browser = Browser()
    refused = browser.sign_in("ana")  # in ml-admins at the provider
    assert refused.status_code == 302 and refused["Location"] == "/login/"
    page = said(browser.console)
    assert "already uses ana@team.example" in page and "ask Admin boss" in page
    assert not MemberIdentity.objects.exists()
    assert role_of(User.objects.get(pk=mallory.pk)) == Role.VIEWER
    assert not AuditEvent.objects.filter(action="team.role_change").exists()
    assert User.objects.filter(email__iexact="ana@team.example").count() == 1
    refusal = events("failed")[-1]
    assert refusal["method"] == "oidc" and "already uses" in refusal["reason"]
    again = Client()
    again.post("/login/", {"username": "mallory", "password": MEMBER_PASSWORD})
    assert again.get("/team/").status_code == 403


def test_a_password_account_is_linked_only_by_its_owner_choosing_to(
    sso: Provider, make_member: Any
) -> None:
    from tests.console.conftest import PASSWORD as MEMBER_PASSWORD

    olga = invite("olga-pw", "olga@team.example", password=MEMBER_PASSWORD)
    # An address an Admin gave, but the account has a password: the provider alone cannot link.
    assert Browser().sign_in("olga")["Location"] == "/login/"
    assert not MemberIdentity.objects.exists()

    browser = Browser()
    browser.console.post("/login/", {"username": "olga-pw", "password": MEMBER_PASSWORD})
    page = browser.console.get("/account/notifications/").content.decode()
    assert "Link my account to Team SSO" in page
    start = browser.console.post("/account/link/")
    assert start["Location"] == "/login/oidc/?next=/account/notifications/"
    authorize = browser.console.get(start["Location"])["Location"]
    back = browser.back_to_console(browser.sign_in_at_provider(authorize, "olga"))
    assert back.status_code == 302 and back["Location"] == "/account/notifications/"
    assert MemberIdentity.objects.get(user=olga).subject
    assert role_of(User.objects.get(pk=olga.pk)) == Role.OPERATOR  # from the provider's groups
    linked = AuditEvent.objects.get(action="account.link")
    assert linked.actor_username == "olga-pw"
    assert (
        "is linked to Team SSO" in browser.console.get("/account/notifications/").content.decode()
    )
    # From now on the provider alone signs olga in, as olga-pw.
    fresh = Browser()
    fresh.sign_in("olga")
    assert header(None, fresh.console).startswith("olga-pw")


def test_a_link_choice_from_another_member_or_too_old_links_nothing(
    sso: Provider, make_member: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.console.conftest import PASSWORD as MEMBER_PASSWORD

    invite("vic-pw", "vic@team.example", password=MEMBER_PASSWORD)
    browser = Browser()
    browser.console.post("/login/", {"username": "vic-pw", "password": MEMBER_PASSWORD})
    start = browser.console.post("/account/link/")
    monkeypatch.setattr(entry, "LINK_TTL", -1.0)  # the choice has gone stale
    authorize = browser.console.get(start["Location"])["Location"]
    back = browser.back_to_console(browser.sign_in_at_provider(authorize, "vic"))
    assert back["Location"] == "/login/"
    assert not MemberIdentity.objects.exists()


def test_a_provider_account_linked_to_one_member_is_not_linked_to_another(
    sso: Provider, make_member: Any
) -> None:
    from tests.console.conftest import PASSWORD as MEMBER_PASSWORD

    Browser().sign_in("olga")  # olga's provider account now belongs to a new member
    invite("other", "", password=MEMBER_PASSWORD)
    browser = Browser()
    browser.console.post("/login/", {"username": "other", "password": MEMBER_PASSWORD})
    start = browser.console.post("/account/link/")
    authorize = browser.console.get(start["Location"])["Location"]
    back = browser.back_to_console(browser.sign_in_at_provider(authorize, "olga"))
    assert back["Location"] == "/login/"
    assert not MemberIdentity.objects.filter(user__username="other").exists()
    assert "already linked to another member" in events("failed")[-1]["reason"]


def test_roles_follow_the_provider_groups_and_are_taken_away(sso: Provider) -> None:
    Browser().sign_in("ana")
    ana = User.objects.get(email="ana@team.example")
    assert role_of(ana) == Role.ADMIN
    sso.control(user={"username": "ana", "groups": ["ml-ops"]})
    Browser().sign_in("ana")
    assert role_of(User.objects.get(pk=ana.pk)) == Role.OPERATOR
    sso.control(user={"username": "ana", "groups": []})
    Browser().sign_in("ana")
    assert role_of(User.objects.get(pk=ana.pk)) == Role.VIEWER
    changes = [
        json.loads(e.changes)
        for e in AuditEvent.objects.filter(action="team.role_change").order_by("seq")
    ]
    assert [(c["before"]["role"], c["after"]["role"]) for c in changes] == [
        ("Viewer", "Admin"),
        ("Admin", "Operator"),
        ("Operator", "Viewer"),
    ]
    assert all(c["source"] == "identity provider" for c in changes)


def test_the_team_page_shows_provider_roles_and_does_not_change_them_by_hand(
    sso: Provider, make_member: Any
) -> None:
    Browser().sign_in("olga")
    olga = User.objects.get(email="olga@team.example")
    admin = Client()
    admin.force_login(make_member("boss", Role.ADMIN))
    page = admin.get("/team/").content.decode()
    assert "Operator · set by Team SSO" in page
    assert f'id="role-{olga.pk}"' not in page
    refused = admin.post(
        f"/team/{olga.pk}/role/", {"role": "admin", "step": "confirm"}, follow=True
    )
    assert "Team SSO sets this member" in refused.content.decode()
    assert role_of(User.objects.get(pk=olga.pk)) == Role.OPERATOR


# What refused each fault, as the audit event records it (PyJWT's error, or the nonce check).
REASONS = {
    "wrong_signature": "InvalidSignatureError",
    "wrong_audience": "InvalidAudienceError",
    "expired": "ExpiredSignatureError",
    "replayed_nonce": "Nonce verification failed",
    "wrong_issuer": "InvalidIssuerError",
}


@pytest.mark.parametrize("fault", list(REASONS))
def test_a_tampered_id_token_is_refused(sso: Provider, fault: str) -> None:
    Browser().sign_in("olga")  # a first, good sign-in: its nonce is the one a replay reuses
    olga = User.objects.get(email="olga@team.example")
    sso.control(fault=fault)
    browser = Browser()
    refused = browser.sign_in("olga")
    assert refused.status_code == 302 and refused["Location"] == "/login/"
    assert "did not work, and nothing was changed" in said(browser.console)
    assert browser.console.get("/models/").status_code == 302
    failed = events("failed")[-1]
    assert failed["method"] == "oidc" and REASONS[fault] in failed["reason"], failed
    assert role_of(User.objects.get(pk=olga.pk)) == Role.OPERATOR


def test_a_state_that_does_not_match_is_refused(sso: Provider) -> None:
    browser = Browser()
    callback = browser.sign_in_at_provider(browser.to_provider(), "olga")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    refused = browser.back_to_console(forged)
    assert refused.status_code == 302 and refused["Location"] == "/login/"
    assert browser.console.get("/models/").status_code == 302
    assert not User.objects.filter(email="olga@team.example").exists()


def test_a_callback_in_another_browser_is_refused(sso: Provider) -> None:
    """A code and state carried to a browser that did not start the sign-in."""
    started = Browser()
    callback = started.sign_in_at_provider(started.to_provider(), "olga")
    other = Browser()
    assert other.back_to_console(callback)["Location"] == "/login/"
    assert other.console.get("/models/").status_code == 302


def test_a_deactivated_member_cannot_sign_in_through_the_provider(
    sso: Provider, make_member: Any
) -> None:
    make_member("boss", Role.ADMIN)
    Browser().sign_in("olga")
    User.objects.filter(email="olga@team.example").update(is_active=False)
    browser = Browser()
    assert browser.sign_in("olga")["Location"] == "/login/"
    page = said(browser.console)
    assert "Your account in this console is deactivated" in page and "ask Admin boss" in page
    assert browser.console.get("/models/").status_code == 302


def test_log_out_ends_the_provider_session_too(sso: Provider) -> None:
    browser = Browser()
    browser.sign_in("olga")
    out = browser.console.post("/logout/")
    assert out.status_code == 302
    end = urlsplit(out["Location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{sso.issuer}/logout/"
    query = parse_qs(end.query)
    assert query["client_id"] == [sso.client_id]
    assert "id_token_hint" not in query  # no token in an address
    assert browser.console.get("/models/").status_code == 302
    # The provider asks to confirm; once confirmed, its session is over.
    confirm = browser.at_provider.get(out["Location"], timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.text)
    assert token, confirm.text[:300]
    form = {k: v[0] for k, v in query.items()}
    done = browser.at_provider.post(
        confirm.url,
        data={**form, "csrfmiddlewaretoken": token.group(1), "allow": "Logout"},
        headers={"Referer": confirm.url},
        allow_redirects=False,
        timeout=10,
    )
    assert done.headers["Location"].startswith(f"{CONSOLE}/login/")
    again = browser.at_provider.get(browser.to_provider(), allow_redirects=False, timeout=10)
    assert "/accounts/login/" in again.headers["Location"]  # asked to sign in at the provider again


def test_password_log_in_off_leaves_break_glass_for_superusers(
    sso: Provider, settings: Any, make_member: Any
) -> None:
    settings.CONSOLE_PASSWORD_LOGIN = False
    member = make_member("plain", Role.ADMIN)
    root = make_member("root", Role.ADMIN)
    root.is_superuser = True
    root.save()
    page = Client().get("/login/").content.decode()
    assert "Sign in with Team SSO" in page and 'name="password"' not in page
    refused = Client().post("/login/", {"username": "plain", "password": "member-pw-1"})
    assert refused.status_code == 403
    glass = Client().get("/login/?password=1").content.decode()
    assert 'name="password"' in glass and "Break glass" in glass
    from tests.console.conftest import PASSWORD as MEMBER_PASSWORD

    plain = Client().post(
        "/login/?password=1", {"username": member.username, "password": MEMBER_PASSWORD}
    )
    assert plain.status_code == 200 and "Password log-in is off" in plain.content.decode()
    ok = Client().post("/login/?password=1", {"username": "root", "password": MEMBER_PASSWORD})
    assert ok.status_code == 302


def test_every_sign_in_is_audited_with_its_method(sso: Provider, make_member: Any) -> None:
    from tests.console.conftest import PASSWORD as MEMBER_PASSWORD

    make_member("pw", Role.VIEWER)
    Client().post("/login/", {"username": "pw", "password": "wrong"})
    Client().post("/login/", {"username": "pw", "password": MEMBER_PASSWORD})
    Browser().sign_in("olga")
    Browser().sign_in("eve")
    found = [(e["method"], e["who"]) for e in events()]
    outcomes = list(
        AuditEvent.objects.filter(action="account.sign_in")
        .order_by("seq")
        .values_list("outcome", flat=True)
    )
    assert found == [
        ("password", "pw"),
        ("password", "pw"),
        ("oidc", "olga"),
        ("oidc", "eve@elsewhere.example"),
    ]
    assert outcomes == ["failed", "succeeded", "succeeded", "failed"]


def test_no_code_or_token_reaches_the_logs(sso: Provider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    browser = Browser()
    callback = browser.sign_in_at_provider(browser.to_provider(), "olga")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    browser.back_to_console(callback)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert code not in text
    assert sso.client_secret not in text
    session = browser.console.session
    kept = {key: str(session[key]) for key in session.keys()}  # noqa: SIM118
    assert "oidc_id_token" not in kept and "oidc_access_token" not in kept
    assert not any("eyJ" in value or code in value for value in kept.values())  # no JWT, no code


def test_the_provider_unreachable_is_said_plainly(sso: Provider, settings: Any) -> None:
    settings.CONSOLE_OIDC_ISSUER = "http://127.0.0.1:9/o"
    client = Client()
    response = client.get("/login/oidc/", follow=True)
    assert response.status_code == 200
    assert "Team SSO could not be reached" in response.content.decode()


def test_sign_in_routes_are_absent_without_a_provider(settings: Any) -> None:
    settings.CONSOLE_OIDC_ISSUER = ""
    assert Client().get("/login/oidc/").status_code == 404
    assert Client().get("/login/oidc/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in Client().get("/login/").content.decode()


def test_an_http_issuer_only_on_loopback_and_never_in_production() -> None:
    oidc_issuer_check("https://login.example.org/realms/team", allow_loopback_http=False)
    oidc_issuer_check("http://127.0.0.1:8200/o", allow_loopback_http=True)
    with pytest.raises(ImproperlyConfigured, match="https"):
        oidc_issuer_check("http://127.0.0.1:8200/o", allow_loopback_http=False)
    with pytest.raises(ImproperlyConfigured, match="https"):
        oidc_issuer_check("http://login.example.org", allow_loopback_http=True)


def test_the_role_map_is_read_strictly() -> None:
    assert oidc_role_map("ml-admins:Admin, ml-ops:operator") == {
        "ml-admins": "Admin",
        "ml-ops": "Operator",
    }
    with pytest.raises(ImproperlyConfigured, match="ml-x:Owner"):
        oidc_role_map("ml-x:Owner")
    assert entry.mapped_role([]) is None


def test_refused_provider_sign_ins_do_not_lock_the_address_out(
    sso: Provider, settings: Any
) -> None:
    """Lock-out counts password guesses; six people refused from one office's address must not
    stop the seventh, whom the console knows."""
    settings.AXES_ENABLED = True
    for _ in range(6):
        assert Browser().sign_in("eve")["Location"] == "/login/"
    browser = Browser()
    assert browser.sign_in("olga")["Location"] in ("/", "/models/")
    assert browser.console.get("/models/").status_code == 200


def test_a_member_deactivated_while_signed_in_through_the_provider_is_signed_out(
    sso: Provider,
) -> None:
    browser = Browser()
    browser.sign_in("olga")
    assert browser.console.get("/models/").status_code == 200
    User.objects.filter(email="olga@team.example").update(is_active=False)
    assert browser.console.get("/models/").status_code == 302


def test_password_sign_in_works_while_the_provider_is_down(
    sso: Provider, settings: Any, make_member: Any
) -> None:
    from tests.console.conftest import PASSWORD as MEMBER_PASSWORD

    settings.CONSOLE_OIDC_ISSUER = "http://127.0.0.1:9/o"
    make_member("pw", Role.VIEWER)
    signed = Client().post("/login/", {"username": "pw", "password": MEMBER_PASSWORD})
    assert signed.status_code == 302
