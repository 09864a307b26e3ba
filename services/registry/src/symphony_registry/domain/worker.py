"""Background work inside the registry: the scan worker, the download-count outbox and the
revocation of leaked tokens.

The scan worker claims jobs with `FOR UPDATE SKIP LOCKED` under a lease, so replicas share the
work and a crashed worker's job is picked up again when its lease ends. It fails closed: a
check that raises or times out is ERRORED (retried a few times, then final), never a pass, and
only the final transaction that records PASSED makes a version visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from symphony_registry.domain import models as m
from symphony_registry.domain.archive import Entry, Limits, PackageInfo, validate_package
from symphony_registry.domain.checks import PackageCheck, ScanContext
from symphony_registry.domain.ports import (
    AnalyticsPort,
    AuthPort,
    BlobStore,
    RegistryUnitOfWork,
)

log = logging.getLogger(__name__)


@dataclass
class WorkerConfig:
    check_timeout: float = 30.0
    lease_seconds: float = 120.0
    max_attempts: int = 3
    retry_seconds: float = 2.0
    poll_seconds: float = 0.5
    spool_dir: str | None = None
    limits: Limits = field(default_factory=Limits)


def _validate_file(path: str, size: int, limits: Limits) -> PackageInfo:
    with open(path, "rb") as f:
        return validate_package(f, size, limits)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ScanWorker:
    def __init__(
        self,
        uow: Callable[[], RegistryUnitOfWork],
        blobs: BlobStore,
        checks: Sequence[PackageCheck],
        config: WorkerConfig,
        on_final: Callable[[str, str], object] | None = None,
    ) -> None:
        self._uow = uow
        self.blobs = blobs
        self.checks = list(checks)
        self.config = config
        self._on_final = on_final
        self.processed = 0

    async def run_forever(self) -> None:
        while True:
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be down: try again later
                log.warning("scan worker iteration failed", exc_info=True)
                worked = False
            if not worked:
                await asyncio.sleep(self.config.poll_seconds)

    async def run_once(self) -> bool:
        """Claims and processes one job; False when none was due."""
        async with self._uow() as uow:
            claimed = await uow.repo.claim_job(self.config.lease_seconds)
            await uow.commit()
        if claimed is None:
            return False
        job_id, scan_id, attempts = claimed
        try:
            await self._process(job_id, scan_id, attempts)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Anything unexpected (database, blob store): the job's lease ends and it is
            # claimed again; after max attempts the scan is ERRORED.
            log.warning("scan failed to run", extra={"scan": scan_id}, exc_info=True)
            with contextlib.suppress(Exception):
                async with self._uow() as uow:
                    await uow.repo.retry_job(
                        job_id, self.config.retry_seconds, type(error).__name__
                    )
                    await uow.commit()
        self.processed += 1
        return True

    async def _set_state(self, scan: m.Scan, state: m.ScanState) -> None:
        scan.state = state
        async with self._uow() as uow:
            await uow.repo.update_scan(scan)
            await uow.repo.set_version_state(scan.version_id, state)
            await uow.commit()

    async def _process(self, job_id: int, scan_id: str, attempts: int) -> None:
        async with self._uow() as uow:
            scan = await uow.repo.get_scan(scan_id)
            version = await uow.repo.version_by_id(scan.version_id) if scan else None
            entries_raw = await uow.repo.version_entries(scan.version_id) if scan else []
        if scan is None or version is None or scan.state.final:
            async with self._uow() as uow:
                await uow.repo.delete_job(scan_id)
                await uow.commit()
            return
        if attempts > self.config.max_attempts:
            await self._finish(
                scan, version, m.ScanState.ERRORED, note="the checks failed to run too many times"
            )
            return
        await self._set_state(scan, m.ScanState.VALIDATING)
        fd, path = tempfile.mkstemp(
            prefix="symphony-scan-", suffix=".vsix", dir=self.config.spool_dir
        )
        try:
            # Re-read the stored bytes: the checks look at exactly what will be served.
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                async for chunk in self.blobs.read(version.package_sha256):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if digest.hexdigest() != version.package_sha256 or size != version.package_size:
                raise RuntimeError("stored package does not match its SHA-256")
            info = await asyncio.to_thread(_validate_file, path, size, self.config.limits)
            stored = sorted((e["path"], e["sha256"], e["size"]) for e in entries_raw)
            if stored != sorted((e.path, e.sha256, e.size) for e in info.entries):
                raise RuntimeError("stored package entries differ from the signed manifest")
            await self._set_state(scan, m.ScanState.SCANNING)
            async with self._uow() as uow:
                blocklist = await uow.repo.blocklist_lookup(
                    [e.sha256 for e in info.entries] + [version.package_sha256]
                )
                others = await uow.repo.candidate_similar_extensions(version.extension)
                first = await uow.repo.first_version(version.extension_id, version.id)
            ctx = ScanContext(
                package_path=path,
                entries=[Entry(e.path, e.size, e.sha256, e.compressed_size) for e in info.entries],
                namespace=version.namespace,
                extension=version.extension,
                version=version.version,
                target_platform=version.target_platform,
                package_sha256=version.package_sha256,
                blocklist=blocklist,
                other_extension_ids=others,
                first_version=first,
            )
            findings: list[m.Finding] = []
            runs = {c.check: c for c in scan.checks}
            errored = False
            for check in self.checks:
                run = runs.setdefault(check.check, m.CheckRun(check.check, m.CheckState.PENDING))
                run.state, run.start_time, run.end_time = m.CheckState.RUNNING, _now(), None
                try:
                    found = await asyncio.wait_for(check.run(ctx), self.config.check_timeout)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    errored = True
                    run.state, run.end_time = m.CheckState.ERRORED, _now()
                    reason = (
                        "CHECK_TIMED_OUT" if isinstance(error, TimeoutError) else "CHECK_FAILED"
                    )
                    findings.append(
                        m.Finding(
                            check.check,
                            m.Severity.WARNING,
                            reason,
                            "",
                            0,
                            f"the {check.check.name.lower()} check could not run",
                            "Nothing to fix in the package; the registry retries, or publish the "
                            "version again later.",
                        )
                    )
                    log.warning(
                        "check errored",
                        extra={"scan": scan_id, "check": check.check.name},
                        exc_info=not isinstance(error, TimeoutError),
                    )
                    break
                blocking = [f for f in found if f.severity >= m.Severity.QUARANTINE]
                run.state, run.end_time = (
                    (m.CheckState.FAILED if blocking else m.CheckState.PASSED),
                    _now(),
                )
                findings.extend(found)
            scan.checks = list(runs.values())
            scan.findings = sorted(findings, key=lambda f: -int(f.severity))
            if errored:
                if attempts < self.config.max_attempts:
                    async with self._uow() as uow:
                        await uow.repo.update_scan(scan)
                        await uow.repo.retry_job(
                            job_id, self.config.retry_seconds * attempts, "check errored"
                        )
                        await uow.commit()
                    return
                await self._finish(scan, version, m.ScanState.ERRORED)
                return
            worst = max((f.severity for f in findings), default=m.Severity.INFO)
            state = (
                m.ScanState.REJECTED
                if worst >= m.Severity.REJECT
                else m.ScanState.QUARANTINED
                if worst >= m.Severity.QUARANTINE
                else m.ScanState.PASSED
            )
            await self._finish(scan, version, state)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    async def _finish(
        self, scan: m.Scan, version: m.Version, state: m.ScanState, note: str = ""
    ) -> None:
        scan.state = state
        if note:
            scan.findings.append(
                m.Finding(
                    m.Check.VALIDATION,
                    m.Severity.WARNING,
                    "CHECKS_UNAVAILABLE",
                    "",
                    0,
                    note,
                    "Publish the version again to retry.",
                )
            )
        for run in scan.checks:
            if (
                run.state in (m.CheckState.PENDING, m.CheckState.RUNNING)
                and state == m.ScanState.ERRORED
            ):
                run.state = m.CheckState.ERRORED
        async with self._uow() as uow:
            await uow.repo.update_scan(scan)
            await uow.repo.set_version_state(scan.version_id, state)
            await uow.repo.refresh_extension(version.extension_id)
            await uow.repo.delete_job(scan.id)
            await uow.commit()
        log.info("scan finished", extra={"scan": scan.id, "state": state.name})
        if self._on_final is not None:
            result = self._on_final(version.namespace, version.extension)
            if asyncio.iscoroutine(result):
                await result


class DownloadOutbox:
    """Sends per-version-per-day download counts to analytics; rows are sealed before sending,
    so counting goes on in fresh rows, and a row is marked sent only after analytics took it
    (analytics dedupes by outbox id, so a resend after a lost answer counts once)."""

    def __init__(
        self,
        uow: Callable[[], RegistryUnitOfWork],
        analytics: AnalyticsPort,
        *,
        batch: int = 500,
        interval: float = 5.0,
    ) -> None:
        self._uow = uow
        self.analytics = analytics
        self.batch = batch
        self.interval = interval

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("download outbox flush failed; will retry", exc_info=True)

    async def flush(self) -> int:
        async with self._uow() as uow:
            await uow.repo.seal_outbox(self.batch)
            await uow.commit()
        sent = 0
        while True:
            async with self._uow() as uow:
                rows = await uow.repo.claim_sealed_outbox(self.batch)
                if not rows:
                    return sent
                await self.analytics.record_downloads(rows)
                await uow.repo.mark_outbox_sent([r["id"] for r in rows])
                await uow.commit()
            sent += len(rows)


class TokenRevocations:
    """Revokes the personal access tokens the secrets check finds, durably: the token is
    recorded before auth is asked, and its row stays until auth has answered, retried with a
    doubling delay. An auth outage delays a revocation but never loses it, and no longer fails
    the scan (a package with a token is rejected either way)."""

    PENDING = "PENDING"

    def __init__(
        self,
        uow: Callable[[], RegistryUnitOfWork],
        auth: AuthPort,
        *,
        retry_seconds: float = 5.0,
        max_retry_seconds: float = 300.0,
        poll_seconds: float = 1.0,
        batch: int = 50,
    ) -> None:
        self._uow = uow
        self.auth = auth
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.poll_seconds = poll_seconds
        self.batch = batch

    async def revoke(self, token: str, location: str) -> str:
        """Records the token, then asks auth at once; the outcome's name, or PENDING when auth
        did not answer (the row is retried by `flush`)."""
        async with self._uow() as uow:
            await uow.repo.record_leaked_token(token, location, self.retry_seconds)
            await uow.commit()
        outcome = await self._send(token, location)
        return self.PENDING if outcome is None else outcome

    async def flush(self) -> int:
        """Sends every due token once; how many auth has revoked."""
        async with self._uow() as uow:
            due = await uow.repo.claim_leaked_tokens(
                self.batch, self.retry_seconds, self.max_retry_seconds
            )
            await uow.commit()
        done = 0
        for _, token, location in due:
            if await self._send(token, location) is not None:
                done += 1
        return done

    async def _send(self, token: str, location: str) -> str | None:
        try:
            outcome = await self.auth.revoke_leaked_token(token, location)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("leaked token not revoked yet; will retry", exc_info=True)
            with contextlib.suppress(Exception):
                async with self._uow() as uow:
                    await uow.repo.leaked_token_failed(token, type(error).__name__)
                    await uow.commit()
            return None
        async with self._uow() as uow:
            await uow.repo.forget_leaked_token(token)
            await uow.commit()
        return outcome

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("leaked token revocations failed; will retry", exc_info=True)
