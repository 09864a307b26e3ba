"""Email delivery: the outbox table is filled in the same transaction as the change that
causes an email; `OutboxWorker` sends it (SMTP when `SMTP_URL` is set, the log otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from symphony_auth.domain.ports import Mailer, PeerNotifier

log = logging.getLogger("symphony.auth.mail")


class LogMailer:
    """Development sender: the email goes to the log (links included, so a developer can
    follow them). Never use in production."""

    async def send(self, recipient: str, subject: str, body: str) -> None:
        log.info("email", extra={"to": recipient, "subject": subject, "body": body})


class SmtpMailer:
    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.starttls = "starttls" in parts.query
        self.sender = sender

    def _send(self, message: EmailMessage) -> None:
        if self.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=10, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=10)
        with client:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password)
            client.send_message(message)

    async def send(self, recipient: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message.set_content(body)
        await asyncio.to_thread(self._send, message)


def make_mailer(smtp_url: str, sender: str) -> Mailer:
    return SmtpMailer(smtp_url, sender) if smtp_url else LogMailer()


class OutboxWorker:
    """Background task: delivers pending emails and peer deletions, retrying with backoff.
    Rows are claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work."""

    def __init__(
        self,
        uow: Callable[[], Any],
        mailer: Mailer,
        peers: PeerNotifier | None,
        clock: Callable[[], datetime],
        poll_seconds: float = 1.0,
    ) -> None:
        self._uow = uow
        self.mailer = mailer
        self.peers = peers
        self._clock = clock
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()

    @staticmethod
    def _backoff(attempts: int) -> timedelta:
        return timedelta(seconds=min(3600, 2 ** min(attempts, 12)))

    async def run_once(self) -> int:
        done = 0
        now = self._clock()
        async with self._uow() as uow:
            for row in await uow.repo.claim_emails(now, 20):
                try:
                    await self.mailer.send(row.recipient, row.subject, row.body)
                    await uow.repo.mark_email(row.id, now, sent=True, retry_at=now)
                    done += 1
                except Exception as error:
                    log.warning("email delivery failed: %s", type(error).__name__)
                    await uow.repo.mark_email(
                        row.id,
                        now,
                        sent=False,
                        retry_at=now + self._backoff(row.attempts),
                        error=type(error).__name__,
                    )
            await uow.commit()
        if self.peers is not None:
            async with self._uow() as uow:
                for row in await uow.repo.claim_peer_deletions(now, 20):
                    try:
                        await self.peers.delete_user_data(row.peer, row.user_id, row.request_id)
                        await uow.repo.mark_peer_deletion(row.id, now, done=True, retry_at=now)
                        done += 1
                    except Exception as error:
                        log.warning(
                            "DeleteUserData at %s failed: %s", row.peer, type(error).__name__
                        )
                        await uow.repo.mark_peer_deletion(
                            row.id,
                            now,
                            done=False,
                            retry_at=now + self._backoff(row.attempts),
                            error=type(error).__name__,
                        )
                await uow.commit()
        return done

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox round failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self.wake.wait()
            self.wake.clear()
