"""Helpers for the user journeys (tests/e2e/test_journeys_*.py): a new user as the website
makes one (register, verify the email from the link the outbox logged, sign in), the
`symphony` command line run as a real subprocess against the stack, and a device login
through it approved as a signed-in website user."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from symphony_common.devstack import RunningStack
from tests.integration.registry.vsix import build_vsix

PASSWORD = "correct horse battery staple"
CLI_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def web(stack: RunningStack) -> Iterator[httpx.Client]:
    """An HTTP client on the gateway, as the website (or curl) uses it."""
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        yield client


@dataclass
class WebUser:
    email: str
    password: str
    display_name: str
    access: str = ""
    refresh: str = ""
    id: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def logged_emails(stack: RunningStack, recipient: str) -> list[dict[str, str]]:
    """The emails the auth service's log sender wrote for ``recipient`` (no SMTP in tests)."""
    found = []
    log = stack.log_dir / "auth.log"
    if not log.exists():
        return found
    for line in log.read_text(errors="replace").splitlines():
        if '"symphony.auth.mail"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("to") == recipient:
            found.append(record)
    return found


def wait_for_email(stack: RunningStack, recipient: str, subject_part: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in logged_emails(stack, recipient):
            if subject_part.lower() in record.get("subject", "").lower():
                return record
        time.sleep(0.2)
    raise AssertionError(
        f"no email with {subject_part!r} for {recipient} in {stack.log_dir / 'auth.log'} "
        f"after {timeout}s; emails seen: {logged_emails(stack, recipient)}"
    )


def link_token(body: str) -> str:
    """The `token` query parameter of the first link in an email body."""
    for word in body.split():
        if "token=" in word:
            return parse_qs(urlsplit(word).query)["token"][0]
    raise AssertionError(f"no link with a token in the email: {body!r}")


def register(
    web: httpx.Client,
    stack: RunningStack,
    prefix: str = "user",
    *,
    verify: bool = True,
    name: str = "Test User",
) -> WebUser:
    """Register through POST /v1/users, follow the verification email, sign in."""
    user = WebUser(unique_email(prefix), PASSWORD, name)
    created = web.post(
        "/v1/users",
        json={"user": {"email": user.email, "displayName": name}, "password": user.password},
    )
    assert created.status_code == 200, created.text
    assert created.json() == {"email": user.email}
    if verify:
        mail = wait_for_email(stack, user.email, "verify")
        verified = web.post("/v1/users:verifyEmail", json={"token": link_token(mail["body"])})
        assert verified.status_code == 200, verified.text
        assert verified.json()["emailVerified"] is True
    login(web, user)
    return user


def login(web: httpx.Client, user: WebUser, device: str = "browser", platform: str = "web") -> dict:
    response = web.post(
        "/v1/auth:login",
        json={
            "email": user.email,
            "password": user.password,
            "deviceName": device,
            "platform": platform,
        },
    )
    assert response.status_code == 200, response.text
    pair = response.json()
    user.access, user.refresh = pair["accessToken"], pair["refreshToken"]
    if not user.id:
        me = web.get("/v1/users/me", headers=user.auth)
        assert me.status_code == 200, me.text
        user.id = me.json()["uid"]
    return pair


# --- the command line -------------------------------------------------------------------


def cli_argv(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("symphony")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "symphony_client.cli", *args]


def cli_env(stack: RunningStack, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}
    env.update(
        SYMPHONY_URL=stack.gateway_url,
        SYMPHONY_AUTH_ADDRESS=stack.grpc_address("auth"),
        SYMPHONY_REGISTRY_ADDRESS=stack.grpc_address("registry"),
        SYMPHONY_SYNC_ADDRESS=stack.grpc_address("sync"),
        SYMPHONY_ANALYTICS_ADDRESS=stack.grpc_address("analytics"),
        SYMPHONY_HOME=str(home),
        **extra,
    )
    return env


@dataclass
class Cli:
    """`symphony ...` as a user types it, in its own SYMPHONY_HOME."""

    stack: RunningStack
    home: Path
    env_extra: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return cli_env(self.stack, self.home, **self.env_extra)

    def run(
        self, *args: str, input: str | None = None, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            cli_argv(*args),
            env=self.env(),
            capture_output=True,
            text=True,
            input=input,
            timeout=CLI_TIMEOUT,
            cwd=cwd or self.home,
        )
        if check:
            assert done.returncode == 0, (
                f"`symphony {' '.join(args)}` exited {done.returncode}\n"
                f"stdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return done

    def device_login(self, web: httpx.Client, approver: WebUser) -> str:
        """`symphony login`: read the code it prints, approve it on the website as
        ``approver``, and wait for the CLI to finish. Returns the CLI's output."""
        process = subprocess.Popen(
            cli_argv("login"),
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.home,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        output: list[str] = []
        try:
            code = _read_user_code(lines, output)
            approved = web.post(
                "/v1/auth/device:approve", headers=approver.auth, json={"userCode": code}
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["state"] == "DEVICE_AUTHORIZATION_STATE_APPROVED"
            returncode = process.wait(timeout=CLI_TIMEOUT)
            while (line := lines.get(timeout=5)) is not None:
                output.append(line)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        text = "".join(output)
        assert returncode == 0, f"`symphony login` exited {returncode}:\n{text}"
        return text


def _read_user_code(lines: queue.Queue[str | None], output: list[str]) -> str:
    deadline = time.monotonic() + CLI_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        output.append(line)
        if "enter the code" in line:
            return line.rsplit("enter the code", 1)[1].strip()
    raise AssertionError(f"`symphony login` printed no user code:\n{''.join(output)}")


@pytest.fixture
def cli(stack: RunningStack, tmp_path: Path) -> Cli:
    home = tmp_path / "symphony-home"
    home.mkdir()
    return Cli(stack, home)


def poll(check, timeout: float = 30.0, interval: float = 0.5, message: str = ""):  # type: ignore[no-untyped-def]
    """Call ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message or 'condition'} not met after {timeout}s: {last!r}")
        time.sleep(interval)


def publish_extension(
    web: httpx.Client,
    stack: RunningStack,
    cli: Cli,
    owner: WebUser,
    namespace: str,
    name: str = "linter",
    version: str = "1.2.0",
) -> tuple[Path, str]:
    """Namespace on the website, a PAT scoped to it, `symphony publish`. Returns the VSIX and
    the PAT."""
    created = web.post("/v1/namespaces", headers=owner.auth, json={"namespaceId": namespace})
    assert created.status_code == 200, created.text
    assert created.json()["owner"] == f"users/{owner.id}"
    token = web.post(
        "/v1/users/me/tokens",
        headers=owner.auth,
        json={
            "personalAccessToken": {
                "displayName": "publish from CI",
                "scopes": [f"registry.publish:{namespace}"],
            }
        },
    )
    assert token.status_code == 200, token.text
    pat = token.json()["token"]
    vsix = cli.home / f"{namespace}.{name}-{version}.vsix"
    vsix.write_bytes(
        build_vsix(
            namespace,
            name,
            version,
            displayName="Ada Linter",
            description="Finds lint in Ada source files",
            keywords=["lint", "ada"],
            categories=["Linters"],
        )
    )
    published = cli.run("publish", str(vsix), "--token", pat)
    assert (
        f"namespaces/{namespace}/extensions/{name}/versions/{version} (universal): PASSED"
        in published.stdout
    ), published.stdout + published.stderr
    return vsix, pat
