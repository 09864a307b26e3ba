"""Analytics settings: `SYMPHONY_ANALYTICS_*` plus the shared variables (see the README)."""

from pydantic_settings import SettingsConfigDict

from symphony_common.config import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYMPHONY_ANALYTICS_", extra="ignore", populate_by_name=True
    )

    service_name: str = "analytics"
    # Public figures for groups of fewer distinct installs than this are withheld.
    suppression_threshold: int = 5
    # Raw events are dropped (whole daily partitions) after this many days; rollups are kept.
    raw_retention_days: int = 90
    # Event ids are remembered this long; events older than this are refused (max_event_age).
    dedupe_window_days: int = 30
    # Events (not calls) per install and per client address in each rate window.
    install_events_per_minute: int = 3_000
    # Events accepted per client address per minute.
    address_events_per_minute: int = 30_000
    # Queries answered per client address per minute.
    address_queries_per_minute: int = 600
    # Concurrent ingest transactions; a call waiting longer than overload_wait_seconds gets
    # RESOURCE_EXHAUSTED (INGEST_OVERLOADED).
    max_concurrent_ingest: int = 8
    # How long ingest waits for a database connection before UNAVAILABLE.
    overload_wait_seconds: float = 5.0
    # Batches of valid events go to the database in one native pass (the `_fastingest`
    # extension that `make install` builds); off, or not built: every event is validated in
    # Python. The answers are the same either way.
    native_ingest: bool = True
    # Most events in one ingest stream.
    max_stream_events: int = 50_000
    # An ingest stream idle this long is closed.
    stream_idle_seconds: float = 30.0
    # Peers whose `x-forwarded-for` names the real client (the gateway), comma-separated.
    trusted_proxies: str = "127.0.0.1,::1"
    # How often the rollup deltas of new batches are folded into the rollups (seconds): queries
    # trail ingest by about this long; `data_through_time` says up to when they are complete.
    rollup_fold_interval_seconds: float = 2.0
    # How often partitions are created ahead and retention is applied.
    maintenance_interval_seconds: float = 3600.0
    # Share the rate limits' counts between replicas through Redis, in the background (a call
    # is decided at once; each replica counts on its own while Redis is unreachable).
    use_redis: bool = True
