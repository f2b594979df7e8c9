"""The provider's claims (email, groups) and its faults: an ID token signed with a stray key,
for another audience, already expired, or carrying the nonce of an earlier sign-in."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator

STRAY_KEY = jwk.JWK.generate(kty="RSA", size=2048)
_last_nonce: list[str] = []


def fault() -> str:
    path = Path(os.environ["OIDC_PROVIDER_DIR"]) / "fault.json"
    return json.loads(path.read_text()).get("fault", "") if path.exists() else ""


class Validator(OAuth2Validator):
    oidc_claim_scope = None  # every claim below, whatever the scopes

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "email_verified": not user.last_name.startswith("unverified"),
            "name": user.get_full_name() or user.username,
            "preferred_username": user.username,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }

    def finalize_id_token(self, id_token: Any, token: Any, token_handler: Any, request: Any) -> str:
        broken = fault()
        if not broken:
            serialized = super().finalize_id_token(id_token, token, token_handler, request)
            _last_nonce[:] = [request.nonce or ""]
            return serialized
        claims, expiration = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        id_token.setdefault("nonce", request.nonce)
        key = request.client.jwk_key
        if broken == "wrong_audience":
            id_token["aud"] = "another-client"
        elif broken == "expired":
            id_token["iat"] = int(time.time()) - 7200
            id_token["exp"] = int(time.time()) - 3600
        elif broken == "replayed_nonce":
            id_token["nonce"] = _last_nonce[0] if _last_nonce else "an-earlier-nonce"
        elif broken == "wrong_signature":
            key = STRAY_KEY
        elif broken == "wrong_issuer":
            id_token["iss"] = "https://someone-else.example"
        header = {"typ": "JWT", "alg": "RS256", "kid": request.client.jwk_key.thumbprint()}
        signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        return signed.serialize()
