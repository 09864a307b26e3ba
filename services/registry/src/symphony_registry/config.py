"""Registry settings: `SYMPHONY_REGISTRY_*` plus the shared variables (see the README)."""

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings

MIB = 1024 * 1024


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYMPHONY_REGISTRY_", extra="ignore", populate_by_name=True
    )

    service_name: str = "registry"

    # Package limits (Open VSX's defaults, tighter where safe).
    max_package_bytes: int = 256 * MIB
    max_entry_bytes: int = 32 * MIB
    max_entries: int = 50_000
    max_uncompressed_bytes: int = 512 * MIB
    max_manifest_bytes: int = 2 * MIB
    max_manifest_depth: int = 64
    max_path_depth: int = 32
    max_entry_name_bytes: int = 1024
    # Where uploads are spooled while they are hashed and validated (default: the system's).
    spool_dir: str = ""

    # Blobs: `postgres` (default) or `filesystem` (a shared volume at `blob_dir`).
    blob_backend: str = "postgres"
    blob_dir: str = ""

    # The scan worker inside the service.
    worker_enabled: bool = True
    worker_concurrency: int = 2
    worker_poll_seconds: float = 0.5
    check_timeout_seconds: float = 30.0
    scan_lease_seconds: float = 120.0
    scan_max_attempts: int = 3
    scan_retry_seconds: float = 2.0

    # Download counts → analytics.
    outbox_enabled: bool = True
    outbox_interval_seconds: float = 5.0
    outbox_batch: int = 500

    # Caching in Redis (an accelerator; everything works with Redis down).
    cache_enabled: bool = True
    cache_ttl_seconds: float = 15.0

    # Names refused for namespaces besides the built-in list (comma separated).
    reserved_namespaces: str = ""
    # Users who administer the registry besides auth's platform administrators (comma separated ids).
    admin_users: str = ""
    # Hours after publication during which a version may be unpublished.
    unpublish_window_hours: float = 72.0
