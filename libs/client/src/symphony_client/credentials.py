"""Stored sign-in of the CLI and the editor: `<home>/credentials.json` (mode 0600) with the
access and refresh tokens. `access_token(config)` returns a current access token, refreshing
it through auth when it expires within a minute; other areas use it (or `metadata(config)`)
for their bearer token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path

from symphony_client.auth import AuthClient, AuthError, Tokens
from symphony_client.config import ClientConfig

FILE_NAME = "credentials.json"
REFRESH_MARGIN_SECONDS = 60


class CredentialStore:
    def __init__(self, home: Path) -> None:
        self.path = Path(home) / FILE_NAME

    def load(self) -> Tokens | None:
        try:
            data = json.loads(self.path.read_text())
            return Tokens(data["access_token"], data["refresh_token"], float(data["expires_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, tokens: Tokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        # Created 0600 from the start: the tokens are never readable by others, not even briefly.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(
                {
                    "access_token": tokens.access_token,
                    "refresh_token": tokens.refresh_token,
                    "expires_at": tokens.expires_at,
                },
                out,
            )
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


_refresh_lock = asyncio.Lock()


async def current_tokens(config: ClientConfig, client: AuthClient | None = None) -> Tokens | None:
    store = CredentialStore(config.home)
    tokens = store.load()
    if tokens is None:
        return None
    if tokens.expires_at - time.time() > REFRESH_MARGIN_SECONDS:
        return tokens
    async with _refresh_lock:
        tokens = store.load()  # another task may have refreshed meanwhile
        if tokens is None or tokens.expires_at - time.time() > REFRESH_MARGIN_SECONDS:
            return tokens
        owned = client is None
        client = client or AuthClient.connect(config.auth_address)
        try:
            fresh = await client.refresh(tokens.refresh_token)
        except AuthError as error:
            if error.reason in ("INVALID_GRANT", "USER_DISABLED", "USER_LOCKED"):
                store.clear()  # the session ended: sign in again
                return None
            raise
        finally:
            if owned:
                await client.close()
        store.save(fresh)
        return fresh


async def access_token(config: ClientConfig | None = None) -> str:
    """A current access token of the stored sign-in, or "" when signed out."""
    tokens = await current_tokens(config or ClientConfig())
    return tokens.access_token if tokens else ""


async def metadata(config: ClientConfig | None = None) -> tuple[tuple[str, str], ...]:
    """gRPC metadata carrying the bearer token (empty when signed out)."""
    token = await access_token(config)
    return (("authorization", f"Bearer {token}"),) if token else ()
