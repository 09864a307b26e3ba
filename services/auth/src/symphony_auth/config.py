"""Auth settings: `SYMPHONY_AUTH_*` plus the shared variables (see the README and NOTES.md).

| variable | default | meaning |
|---|---|---|
| SYMPHONY_AUTH_ACCESS_TOKEN_TTL_SECONDS | 900 | access-token lifetime |
| SYMPHONY_AUTH_REFRESH_GRACE_SECONDS | 5 | retry window returning the same successor (≤ 60) |
| SYMPHONY_AUTH_SESSION_IDLE_DAYS / _ABSOLUTE_DAYS | 30 / 90 | refresh-token family lifetime |
| SYMPHONY_AUTH_ADMIN_EMAILS | "" | comma-separated emails of platform administrators |
| SYMPHONY_AUTH_OIDC_PROVIDERS | "[]" | JSON list of OIDC providers (see `OidcProviderConfig`) |
| SYMPHONY_AUTH_KEY_ENCRYPTION_KEY | "" | encrypts signing private keys at rest (AES-256-GCM) |
| SYMPHONY_AUTH_KEY_ROTATION_DAYS | 30 | age at which the next signing key is published |
| SYMPHONY_AUTH_KEY_PUBLISH_LEAD_SECONDS | 600 | how long a next key is published before it signs |
| SYMPHONY_AUTH_WEBSITE_URL | http://127.0.0.1:8080 | base of verification, reset and device links |
| SYMPHONY_AUTH_TRUSTED_PROXIES | 127.0.0.1/32,::1/128 | peers whose `x-forwarded-for` is believed |
| SYMPHONY_AUTH_SESSION_CACHE_SECONDS / _SIZE | 5 / 10000 | GetCurrentUser's session cache |
| SMTP_URL | "" | `smtp://user:pass@host:port` (or `smtps://`); the log when empty |
| SMTP_FROM | no-reply@symphony.dev | sender of the account emails |
"""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings, shared


class OidcProviderConfig(BaseModel):
    """One external provider. `redirect_uris` lists the website callback URLs accepted
    (exact match); `issuer` is discovered at `<issuer>/.well-known/openid-configuration`."""

    id: str
    display_name: str = ""
    issuer: str
    client_id: str
    client_secret: str = ""
    redirect_uris: list[str] = []
    scopes: list[str] = ["openid", "email", "profile"]


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYMPHONY_AUTH_", extra="ignore", populate_by_name=True
    )

    service_name: str = "auth"

    # Lifetime of an access token.
    access_token_ttl_seconds: int = 900
    # A retried refresh within this window gets the same successor, not reuse detection (≤ 60).
    refresh_grace_seconds: float = 5.0
    # A session unused for this long ends.
    session_idle_days: int = 30
    # A session ends this long after sign-in, however active.
    session_absolute_days: int = 90
    # Lifetime of a device login code.
    device_code_ttl_seconds: int = 600
    # Least time between two polls of a device login (faster gets slow_down).
    device_poll_interval_seconds: int = 5
    # How long an OpenID Connect login may take from start to callback.
    external_login_ttl_seconds: int = 600
    # Comma list of emails whose accounts are administrators.
    admin_emails: str = ""
    # External OpenID Connect providers as JSON: [{id, issuer, client_id, client_secret, ...}].
    oidc_providers: str = "[]"
    # Key that encrypts signing keys at rest (and lets a retried token creation show it again).
    key_encryption_key: str = ""
    # How often a new signing key takes over.
    key_rotation_days: int = 30
    # How long a new key is published in the JWKS before it signs.
    key_publish_lead_seconds: int = 600
    # The website's address, for links in emails and the device login prompt.
    website_url: str = "http://127.0.0.1:8080"
    # Addresses whose x-forwarded-for is believed for per-address limits.
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    # Failed sign-ins: per account and per client address, over a window.
    login_account_limit: int = 10
    # Failed sign-ins allowed per client address per window.
    login_address_limit: int = 50
    # The window of the failed sign-in limits.
    login_window_seconds: int = 900
    # Anonymous request rate of registration, reset requests and device starts per address.
    request_rate_limit: int = 30
    # The window of the limits on anonymous requests (register, reset, device start).
    request_rate_window_seconds: int = 60
    # argon2id parameters (OWASP minimum: m = 19 MiB, t = 2, p = 1).
    argon2_memory_kib: int = 19456
    # argon2id iterations (OWASP minimum 2).
    argon2_time_cost: int = 2
    # argon2id lanes.
    argon2_parallelism: int = 1
    # How often the email and peer outbox is sent.
    outbox_poll_seconds: float = 1.0
    # How long a replica answers GetCurrentUser from memory (seconds; 0: always from the
    # database). A write on any replica ends it at once through Redis; while Redis is down
    # nothing is kept, so this bounds only a change message that was lost.
    session_cache_seconds: float = 5.0
    # Most sessions that memory holds per replica.
    session_cache_size: int = 10000

    # SMTP server for emails (smtp://user:pass@host:port); unset: emails go to the log.
    smtp_url: str = shared("SMTP_URL", "")  # type: ignore[assignment]
    # Sender address of emails.
    smtp_from: str = shared("SMTP_FROM", "no-reply@symphony.dev")  # type: ignore[assignment]

    def admin_email_set(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admin_emails.split(",") if e.strip())

    def providers(self) -> list[OidcProviderConfig]:
        import json

        raw = json.loads(self.oidc_providers or "[]")
        return [OidcProviderConfig.model_validate(item) for item in raw]
