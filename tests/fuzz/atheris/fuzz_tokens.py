"""IN-4 harness: the shared token verification (`symphony_common.tokens.Authenticator` over an
`AccessTokenVerifier` and a `PatCache`), as every service's interceptor calls it.

Input: the first byte picks what the rest is (byte mod 4).
  0: the `authorization` header of a public method (`Bearer <JWT>`, `Bearer symp_…`, garbage);
  1: `header.claims`: two JSON texts the harness base64url-encodes and signs with the trusted
     key, so fuzzed headers and claims get past the signature (a mutated token never would);
  2: the `x-symphony-service-token` of an internal method;
  3: the method path itself, with a valid bearer token.
The verifier's clock and key are fixed (`in4_support`), so the seed tokens in the corpus stay valid.
Expected: `Unauthenticated` or a `Principal`. Anything else is a crash.
"""

from __future__ import annotations

import base64

import atheris
from in4_support import (
    INTERNAL_METHOD,
    NOW,
    PUBLIC_METHOD,
    SERVICE_TOKEN,
    VALID_PAT,
    drive,
    fixed_signer,
    fuzz,
    metadata_text,
    valid_bearer,
)

with atheris.instrument_imports(include=["symphony_common"]):
    from symphony_common.context import Principal
    from symphony_common.errors import Unauthenticated
    from symphony_common.tokens import (
        SERVICE_TOKEN_HEADER,
        AccessTokenVerifier,
        Authenticator,
        PatCache,
        audience_of,
        invalid_token,
    )

SIGNER = fixed_signer()
VALID_BEARER = valid_bearer(SIGNER)


async def introspect(token: str) -> Principal:
    if token != VALID_PAT:
        raise invalid_token()
    return Principal(kind="pat", user_id="user-1", token_id="pat-1")


AUTHENTICATE = Authenticator(
    service_token=SERVICE_TOKEN,
    access_tokens=AccessTokenVerifier(
        SIGNER.jwks, issuer=SIGNER.issuer, audience=audience_of("registry"), clock=lambda: NOW
    ),
    personal_tokens=PatCache(introspect),
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(header: bytes, claims: bytes) -> str:
    signing_input = f"{b64(header)}.{b64(claims)}"
    signature = SIGNER.private_key.sign(signing_input.encode())
    return f"{signing_input}.{b64(signature)}"


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, body = data[0] % 4, data[1:]
    method, metadata = PUBLIC_METHOD, {"authorization": VALID_BEARER}
    if mode == 0:
        metadata = {"authorization": metadata_text(body)}
    elif mode == 1:
        header, _, claims = body.partition(b".")
        metadata = {"authorization": "Bearer " + signed(header, claims)}
    elif mode == 2:
        method, metadata = INTERNAL_METHOD, {SERVICE_TOKEN_HEADER: metadata_text(body)}
    else:
        method = metadata_text(body)
    try:
        principal = drive(AUTHENTICATE(metadata, method))
    except Unauthenticated:
        return
    assert isinstance(principal, Principal)


if __name__ == "__main__":
    fuzz(test_one_input)
