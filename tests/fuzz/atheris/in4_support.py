"""What the IN-4 harnesses share: the libFuzzer entry, a coroutine driver, the fixed test key.

Imports nothing under test at module level: each harness imports the code it fuzzes inside
`atheris.instrument_imports()`, and a module imported earlier would not be instrumented.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import atheris

# The JWT harness' signing key and clock, fixed so the committed seed tokens stay valid.
KEY_SEED = hashlib.sha256(b"symphony IN-4 atheris test key").digest()
NOW = 1_750_000_000
SERVICE_TOKEN = "in4-service-credential"
VALID_PAT = "symp_in4validpersonalaccesstoken0000"
PUBLIC_METHOD = "/symphony.registry.v1.RegistryService/GetExtension"
INTERNAL_METHOD = "/symphony.registry.v1.RegistryInternalService/GetScanJob"


def fuzz(test_one_input: Callable[[bytes], None]) -> None:
    # libFuzzer runs argv[0] through the shell for -merge=1 and -fork=N: make it "python
    # harness.py", since the harness is a script, not an executable.
    command = f"{shlex.quote(sys.executable)} {shlex.quote(os.path.abspath(sys.argv[0]))}"
    atheris.Setup([command, *sys.argv[1:]], test_one_input)
    atheris.Fuzz()


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (its awaits all complete at once) without an event
    loop: far cheaper than a new event loop per input (`asyncio.run`) at 10^4 execs/s."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("the coroutine suspended: the harness' fakes must not wait")


def metadata_text(raw: bytes) -> str:
    """Bytes as grpcio decodes a metadata value: UTF-8, else Latin-1 (never surrogates)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def fixed_signer() -> Any:
    """`TestSigner` with the fixed key (import it after the harness' instrumented imports)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from symphony_common.testing.tokens import TestSigner

    signer = TestSigner(kid="in4-key")
    signer.private_key = Ed25519PrivateKey.from_private_bytes(KEY_SEED)
    return signer


def valid_bearer(signer: Any) -> str:
    """A valid access token for the registry at `NOW`, as auth would issue it."""
    return "Bearer " + signer.mint(
        "user-1", scopes=["registry.publish"], iat=NOW, exp=NOW + 900, jti="in4-jti", sid="in4-sid"
    )
