"""The editor's offline-first sync engine over a local SQLite cache (`SyncEngine`)."""

from symphony_client.sync.engine import (
    KEEP_LOCAL,
    KEEP_SERVER,
    Conflict,
    DeviceDisabled,
    Resolution,
    SyncEngine,
    SyncError,
    keep_server,
)
from symphony_client.sync.store import ConflictCopy, LocalItem, LocalStore, RemoteItem

__all__ = [
    "KEEP_LOCAL",
    "KEEP_SERVER",
    "Conflict",
    "ConflictCopy",
    "DeviceDisabled",
    "LocalItem",
    "LocalStore",
    "RemoteItem",
    "Resolution",
    "SyncEngine",
    "SyncError",
    "keep_server",
]
