"""OpenID Connect relying party: discovery, code exchange (with the PKCE verifier) and ID
token verification against the provider's JWKS. Only asymmetric algorithms are accepted."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from symphony_auth.config import OidcProviderConfig
from symphony_common.errors import Unauthenticated, Unavailable

ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


def provider_unavailable() -> Unavailable:
    return Unavailable(
        "IDENTITY_PROVIDER_UNAVAILABLE",
        "the identity provider did not answer; retry shortly",
        retry_after_seconds=2.0,
    )


class HttpIdentityProviders:
    def __init__(
        self,
        providers: list[OidcProviderConfig],
        client: httpx.AsyncClient | None = None,
        cache_seconds: float = 300.0,
    ) -> None:
        self.providers = {p.id: p for p in providers}
        self._http = client or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self._cache_seconds = cache_seconds
        self._discovery: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks: dict[str, tuple[float, jwt.PyJWKSet]] = {}

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            return dict(response.json())
        except (httpx.HTTPError, ValueError) as error:
            raise provider_unavailable() from error

    async def discovery(self, provider: str) -> dict[str, Any]:
        hit = self._discovery.get(provider)
        if hit and time.monotonic() - hit[0] < self._cache_seconds:
            return hit[1]
        config = self.providers[provider]
        document = await self._get_json(
            config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        )
        if document.get("issuer") != config.issuer:
            raise provider_unavailable()
        self._discovery[provider] = (time.monotonic(), document)
        return document

    async def authorization_endpoint(self, provider: str) -> str:
        return str((await self.discovery(provider))["authorization_endpoint"])

    async def exchange_code(
        self, provider: str, code: str, redirect_uri: str, code_verifier: str
    ) -> str:
        config = self.providers[provider]
        endpoint = str((await self.discovery(provider))["token_endpoint"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            "client_id": config.client_id,
        }
        try:
            if config.client_secret:  # client_secret_basic
                secret = httpx.BasicAuth(config.client_id, config.client_secret)
                response = await self._http.post(endpoint, data=form, auth=secret)
            else:  # a public client: PKCE only
                response = await self._http.post(endpoint, data=form)
        except httpx.HTTPError as error:
            raise provider_unavailable() from error
        if response.status_code >= 500:
            raise provider_unavailable()
        if response.status_code != 200:
            raise Unauthenticated("INVALID_GRANT", "the identity provider refused the code")
        try:
            token = response.json().get("id_token")
        except ValueError:
            token = None
        if not isinstance(token, str):
            raise Unauthenticated("ID_TOKEN_INVALID", "the identity provider sent no ID token")
        return token

    async def _keys(self, provider: str, *, force: bool = False) -> jwt.PyJWKSet:
        hit = self._jwks.get(provider)
        if hit and not force and time.monotonic() - hit[0] < self._cache_seconds:
            return hit[1]
        document = await self._get_json(str((await self.discovery(provider))["jwks_uri"]))
        try:
            keys = jwt.PyJWKSet.from_dict(document)
        except jwt.PyJWTError as error:
            raise provider_unavailable() from error
        self._jwks[provider] = (time.monotonic(), keys)
        return keys

    async def verify_id_token(self, provider: str, id_token: str, nonce: str) -> Mapping[str, Any]:
        config = self.providers[provider]
        bad = Unauthenticated("ID_TOKEN_INVALID", "the identity provider's ID token is not valid")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise bad from None
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise bad
        keys = await self._keys(provider)
        kid = header.get("kid")
        matching = [k for k in keys.keys if k.key_id == kid] if kid else list(keys.keys)
        if not matching:  # the provider rotated: refetch once
            keys = await self._keys(provider, force=True)
            matching = [k for k in keys.keys if k.key_id == kid] if kid else list(keys.keys)
        for key in matching:
            try:
                claims = jwt.decode(
                    id_token,
                    key.key,
                    algorithms=[header["alg"]],
                    audience=config.client_id,
                    issuer=config.issuer,
                    leeway=60,
                    options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                )
            except jwt.PyJWTError:
                continue
            if claims.get("nonce") != nonce:
                raise bad
            return claims
        raise bad

    async def close(self) -> None:
        await self._http.aclose()
