"""Signing in, in one place.

- ``views``: the log-in page (password log-in and its break glass), log-out.
- ``backends``: the signed-in member and their role, read in one query on every request.
- ``provider``: the team's identity provider (OpenID Connect) — discovery, the flow's views,
  the ID token's checks, the provider's log-out.
- ``entry``: who may enter through the provider, as which member (linking rules), and the role
  its groups give.
- ``audit``: the ``account.sign_in`` audit events, by password or provider, succeeded or refused.
"""
