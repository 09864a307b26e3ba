"""Registry settings: `SYMPHONY_REGISTRY_*` plus the shared variables (see the README)."""

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings

MIB = 1024 * 1024


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYMPHONY_REGISTRY_", extra="ignore", populate_by_name=True
    )

    service_name: str = "registry"

    # Largest package accepted (bytes), counted while it streams in; larger uploads are refused.
    max_package_bytes: int = 256 * MIB
    # Largest uncompressed size of one package entry (bytes), counted from actual output.
    max_entry_bytes: int = 32 * MIB
    # Most entries (files and folders) one package may hold.
    max_entries: int = 50_000
    # Largest total uncompressed size of a package (bytes), counted from actual output.
    max_uncompressed_bytes: int = 512 * MIB
    # Largest `extension/package.json` (bytes).
    max_manifest_bytes: int = 2 * MIB
    # Deepest nesting of objects and arrays in `extension/package.json`.
    max_manifest_depth: int = 64
    # Most path segments in an entry name.
    max_path_depth: int = 32
    # Longest entry name (UTF-8 bytes).
    max_entry_name_bytes: int = 1024
    # Where uploads are spooled while they are hashed and validated (default: the system's).
    spool_dir: str = ""

    # Where package blobs live: `postgres` (default) or `filesystem` (a shared volume).
    blob_backend: str = "postgres"
    # The folder of the `filesystem` blob backend (a volume shared by all replicas).
    blob_dir: str = ""

    # Run the scan worker inside this replica (replicas share jobs with FOR UPDATE SKIP LOCKED).
    worker_enabled: bool = True
    # Scan jobs this replica runs at once.
    worker_concurrency: int = 2
    # How often an idle worker looks for new scan jobs (seconds).
    worker_poll_seconds: float = 0.5
    # Time one check may take before it counts as ERRORED (seconds).
    check_timeout_seconds: float = 30.0
    # How long a claimed scan job stays reserved before another replica may take it (seconds).
    scan_lease_seconds: float = 120.0
    # Attempts at a scan whose checks fail before the scan ends ERRORED.
    scan_max_attempts: int = 3
    # Wait before a failed scan attempt is retried (seconds, times the attempt number).
    scan_retry_seconds: float = 2.0
    # First retry of a leaked token's revocation when auth did not answer (seconds; the delay
    # doubles per attempt, up to 5 minutes). Due retries are looked for every worker poll.
    revocation_retry_seconds: float = 5.0

    # Send download counts to analytics through the outbox table.
    outbox_enabled: bool = True
    # How often the outbox is sealed and sent to analytics (seconds).
    outbox_interval_seconds: float = 5.0
    # Most outbox rows sent to analytics in one call.
    outbox_batch: int = 500

    # Cache hot reads and search results in Redis (everything works with Redis down).
    cache_enabled: bool = True
    # Lifetime of a cached read or search result (seconds); bounds staleness after a Redis outage.
    cache_ttl_seconds: float = 15.0
    # How long a replica reuses a cached extension without asking Redis (seconds; 0: always
    # ask). Another replica's publish, yank or deprecate shows here after at most this long.
    local_cache_seconds: float = 1.0

    # Names refused for namespaces besides the built-in list (comma separated).
    reserved_namespaces: str = ""
    # Users who administer the registry besides auth's platform administrators (comma separated
    # ids).
    admin_users: str = ""
    # Hours after publication during which a version may be unpublished.
    unpublish_window_hours: float = 72.0
