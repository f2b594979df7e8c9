"""Signing in through the identity provider in a real browser: the console's button, the
provider's own page, and back to the models list with the role the provider's group gives."""

from __future__ import annotations

from typing import Any

import pytest

from drgero_client.sandbox import SandboxServer
from tests.browser.test_every_page import Checker
from tests.oidc_provider.serve import PASSWORD, console_settings, provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_the_provider_lands_on_the_models_with_the_mapped_role(
    page: Any, live_server: Any, settings: Any, sandbox: SandboxServer
) -> None:
    with provider(live_server.url) as idp:
        for name, value in console_settings(idp, settings.CONTENT_SECURITY_POLICY).items():
            setattr(settings, name, value)
        settings.AUTHENTICATION_BACKENDS = [
            *settings.AUTHENTICATION_BACKENDS,
            "console.signin.provider.ProviderBackend",
        ]
        check = Checker(page)
        check.visit("/login/", "log-in page with a provider")
        page.get_by_role("link", name="Sign in with Team SSO").click()
        page.get_by_label("Email or username").fill("olga")
        page.get_by_label("Provider password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in at the provider").click()
        page.wait_for_url(f"{live_server.url}/models/")
        assert page.locator(".whoami").inner_text() == "olga · Operator"
        assert "code=" not in page.url and "state=" not in page.url
        check("models after signing in through the provider")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{idp.url}/**")  # the provider asks to confirm ending its session
        assert check.problems == [], "\n".join(check.problems)
