"""`make run-sso`: `make run` with sign-in through the local test OpenID provider.

The provider starts beside the sandbox with four people (ana and olga of team.example in the
groups ml-admins and ml-ops, vic of team.example in none, eve of elsewhere.example); each signs
in at the provider with the password it prints. Ctrl-C stops both.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.oidc_provider.serve import PASSWORD, ROOT, provider


def main() -> int:
    port = os.environ.get("PORT", "8000")
    console = f"http://127.0.0.1:{port}"
    with provider(console) as idp:
        env = {
            **os.environ,
            "CONSOLE_OIDC_ISSUER": idp.issuer,
            "CONSOLE_OIDC_CLIENT_ID": idp.client_id,
            "CONSOLE_OIDC_CLIENT_SECRET": idp.client_secret,
            "CONSOLE_OIDC_NAME": os.environ.get("CONSOLE_OIDC_NAME", "Team SSO"),
            "CONSOLE_OIDC_ALLOWED_DOMAINS": "team.example",
            "CONSOLE_OIDC_ROLE_CLAIM": "groups",
            "CONSOLE_OIDC_ROLE_MAP": "ml-admins:Admin,ml-ops:Operator",
        }
        print(
            f"Test OpenID provider at {idp.issuer}: sign in as ana, olga, vic or eve "
            f"with the password {PASSWORD}",
            flush=True,
        )
        try:
            return subprocess.run(  # noqa: S603  (this interpreter, this project's manage.py)
                [sys.executable, "manage.py", "console_run"], cwd=ROOT, env=env, check=False
            ).returncode
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
