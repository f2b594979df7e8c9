"""Team services: the demo account, and production's refusal while it exists."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from console.checks import demo_account_absent, refuse_unsafe_start
from console.models import DrGeroToken
from console.roles import Role, role_of
from console.services.team import demo_account_ensure
from drgero_client.sandbox import SandboxServer

pytestmark = pytest.mark.django_db


def test_the_demo_account_is_an_admin_with_the_sandbox_token(sandbox: SandboxServer) -> None:
    user, created = demo_account_ensure(
        username="demo", password="demo", token="drgero_sandbox_full"
    )
    assert created and role_of(user) == Role.ADMIN and user.check_password("demo")
    assert DrGeroToken.objects.get(user=user).masked == "drgero_…full"
    again, created_again = demo_account_ensure(
        username="demo", password="demo", token="drgero_sandbox_full"
    )
    assert again.pk == user.pk and not created_again


def test_production_refuses_while_a_demo_account_exists(settings, sandbox: SandboxServer) -> None:  # type: ignore[no-untyped-def]
    settings.CONSOLE_ENV = "production"
    assert demo_account_absent() == []
    refuse_unsafe_start()
    demo_account_ensure(username="demo", password="demo", token="drgero_sandbox_full")
    (error,) = demo_account_absent()
    assert error.id == "console.E001"
    with pytest.raises(ImproperlyConfigured):
        refuse_unsafe_start()
