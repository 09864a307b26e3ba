"""Sync settings: `SYMPHONY_SYNC_*` plus the shared variables (see the README)."""

from datetime import timedelta

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings
from symphony_sync.domain.models import Limits

DAY = 86_400


class SyncSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYMPHONY_SYNC_", extra="ignore", populate_by_name=True
    )

    service_name: str = "sync"
    # A full push (4 MiB of changes) plus its framing fits.
    max_message_bytes: int = 8 * 1024 * 1024

    # Limits, advertised by GetSyncConfig.
    max_key_bytes: int = 256
    # Largest value of one item.
    max_item_bytes: int = 1024 * 1024
    # Most changes in one push.
    max_batch_changes: int = 100
    # Largest push.
    max_batch_bytes: int = 4 * 1024 * 1024
    # Storage allowed per user.
    quota_bytes: int = 100 * 1024 * 1024
    # Revisions kept per item.
    history_depth: int = 20
    # How long old revisions are kept.
    history_retention_seconds: int = 90 * DAY
    # How long deletions are kept for pulls; older cursors get a reset signal.
    tombstone_retention_seconds: int = 90 * DAY
    # How long a push's request id is remembered.
    idempotency_retention_seconds: int = 30 * DAY
    # How long snapshots are kept.
    snapshot_retention_seconds: int = 30 * DAY
    # Snapshots kept per user.
    max_snapshots: int = 20
    # Open watch streams per user (per replica).
    max_watch_streams: int = 20
    # Heartbeat interval on idle watch streams.
    heartbeat_interval_seconds: int = 15
    # Polling interval advertised to clients that cannot watch.
    poll_interval_seconds: int = 60
    # Most changes in one pull page.
    max_page_size: int = 1000
    # Devices per user.
    max_devices: int = 100

    # How often watchers poll PostgreSQL while Redis (the change bus) is down.
    watch_poll_fallback_seconds: float = 1.0
    # How often retention (tombstones, history, request ids, snapshots) runs; 0 disables it.
    maintenance_interval_seconds: float = 300.0

    def limits(self) -> Limits:
        return Limits(
            max_key_bytes=self.max_key_bytes,
            max_item_bytes=self.max_item_bytes,
            max_batch_changes=self.max_batch_changes,
            max_batch_bytes=self.max_batch_bytes,
            quota_bytes=self.quota_bytes,
            history_depth=self.history_depth,
            history_retention=timedelta(seconds=self.history_retention_seconds),
            tombstone_retention=timedelta(seconds=self.tombstone_retention_seconds),
            idempotency_retention=timedelta(seconds=self.idempotency_retention_seconds),
            snapshot_retention=timedelta(seconds=self.snapshot_retention_seconds),
            max_snapshots=self.max_snapshots,
            max_watch_streams=self.max_watch_streams,
            heartbeat_interval=timedelta(seconds=self.heartbeat_interval_seconds),
            poll_interval=timedelta(seconds=self.poll_interval_seconds),
            max_page_size=self.max_page_size,
            max_devices=self.max_devices,
        )
