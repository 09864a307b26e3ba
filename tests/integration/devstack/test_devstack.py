"""The zero-setup stack: private PostgreSQL/Redis lifecycle, the supervisor (with a stand-in for
the services), the `run` and `test` commands, and the per-worker test fixtures."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from symphony_common.devstack import (
    SERVICES,
    DevStackError,
    StackPorts,
    StackSettings,
    ensure_postgres,
    ensure_redis,
    grpc_health_probe,
    http_probe,
    start_stack,
)
from symphony_common.devstack._shared import free_port, pid_alive, wait_until
from symphony_common.devstack.postgres import MAX_CONNECTIONS, allowed_connections

FAKE = Path(__file__).with_name("fake_service.py")
COMPONENTS = (*SERVICES, "gateway")


def fake_command(component: str, action: str) -> list[str]:
    return [sys.executable, str(FAKE), component, action]


def private_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["SYMPHONY_DEV_DATA_DIR"] = str(data)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def recorded_pids(markers: Path, what: str) -> dict[str, int]:
    return {p.name.split(".")[0]: int(p.read_text()) for p in markers.glob(f"*.{what}")}


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """A private data directory outside pytest's basetemp: as root, PostgreSQL runs as another
    user, and every pytest start (other workers, the nested runs below) resets
    /tmp/pytest-of-root to 0700, which would lock that user out mid-test."""
    path = Path(tempfile.mkdtemp(prefix="symphony-devstack-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        subprocess.run(
            [sys.executable, "-m", "symphony_common.devstack", "down"],
            env={**os.environ, "SYMPHONY_DEV_DATA_DIR": str(path)},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "markers"
    path.mkdir()
    monkeypatch.setenv("FAKE_MARKERS", str(path))
    monkeypatch.delenv("FAKE_BEHAVIOUR", raising=False)
    return path


def fake_settings(tmp_path: Path) -> StackSettings:
    return StackSettings(
        database_url="postgresql://postgres@127.0.0.1:1/unused",
        redis_url="redis://127.0.0.1:1/0",
        service_token="token-for-tests",
        ports=StackPorts.free(),
        log_dir=tmp_path / "logs",
        command=fake_command,
    )


# --- private PostgreSQL and Redis -------------------------------------------------------------


def test_private_servers_start_stop_and_keep_data_across_restarts(data: Path) -> None:
    pg = ensure_postgres(data)
    rd = ensure_redis(data)
    assert pg.started and rd.started
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (value text)")
        conn.execute("INSERT INTO kept VALUES ('first run')")
    redis.Redis.from_url(rd.url).set("kept", "first run")
    first_ports = (pg.port, rd.port)

    assert pg.release() and rd.release()
    assert not _accepts(pg.url)
    assert allowed_connections(pg.url) is None

    pg2 = ensure_postgres(data)
    rd2 = ensure_redis(data)
    try:
        assert pg2.started and rd2.started
        assert (pg2.port, rd2.port) == first_ports  # same URLs on the next run
        # Room for the suite's peak (`make test` warns about a configured server with less).
        assert allowed_connections(pg2.url) == MAX_CONNECTIONS
        sqlalchemy_style = pg2.url.replace("postgresql://", "postgresql+psycopg://", 1)
        assert allowed_connections(sqlalchemy_style) == MAX_CONNECTIONS
        with psycopg.connect(pg2.url) as conn:
            assert conn.execute("SELECT value FROM kept").fetchall() == [("first run",)]
        assert redis.Redis.from_url(rd2.url).get("kept") == b"first run"
    finally:
        pg2.release()
        rd2.release()


def _accepts(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=1).close()
    except psycopg.OperationalError:
        return False
    return True


HOLD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from symphony_common.devstack import ensure_postgres, ensure_redis
    pg, rd = ensure_postgres(Path(sys.argv[1])), ensure_redis(Path(sys.argv[1]))
    print(pg.url, rd.url, flush=True)
    if sys.argv[2] == "release":
        pg.release(); rd.release()
    else:
        os._exit(0)  # killed without cleaning up
    """
)


def test_last_holder_stops_the_servers(data: Path) -> None:
    pg = ensure_postgres(data)
    rd = ensure_redis(data)
    try:
        # Another process (say `make test` beside `make run`) shares them and leaves first.
        other = subprocess.run(
            [sys.executable, "-c", HOLD, str(data), "release"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        assert other.stdout.split() == [pg.url, rd.url]
        assert _accepts(pg.url)
        assert redis.Redis.from_url(rd.url).ping()
    finally:
        assert pg.release() and rd.release()
    assert not _accepts(pg.url)
    assert allowed_connections(pg.url) is None


def test_servers_left_by_a_killed_process_are_adopted_and_stopped(data: Path) -> None:
    subprocess.run([sys.executable, "-c", HOLD, str(data), "die"], check=True, timeout=120)
    pg = ensure_postgres(data)
    rd = ensure_redis(data)
    assert not pg.started and not rd.started
    assert _accepts(pg.url)
    redis_pid = int((data / "redis" / "redis.pid").read_text())
    assert pg.release() and rd.release()
    assert not _accepts(pg.url)
    assert allowed_connections(pg.url) is None
    assert wait_until(lambda: not pid_alive(redis_pid), timeout=10)


# --- the supervisor ---------------------------------------------------------------------------


def test_start_stack_migrates_starts_wires_and_stops_every_component(
    tmp_path: Path, markers: Path
) -> None:
    settings = fake_settings(tmp_path)
    stack = start_stack(settings, timeout=30)
    try:
        assert sorted(recorded_pids(markers, "migrated")) == sorted(SERVICES)
        for svc in SERVICES:
            assert grpc_health_probe(stack.grpc_address(svc))()
        assert http_probe(f"{stack.gateway_url}/healthz")()
        # The gateway was told where auth listens.
        assert _get(f"{stack.gateway_url}/healthz") == stack.grpc_address("auth")
        assert stack.service_token == "token-for-tests"
        with pytest.raises(KeyError):
            stack.grpc_address("billing")
    finally:
        stack.stop()
    serving = recorded_pids(markers, "serving")
    assert sorted(serving) == sorted(COMPONENTS)
    assert sorted(recorded_pids(markers, "stopped")) == sorted(COMPONENTS)  # graceful SIGTERM
    assert not any(pid_alive(pid) for pid in serving.values())


def _get(url: str) -> str:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        return response.read().decode()


def test_failed_migration_is_reported_with_its_log_and_nothing_starts(
    tmp_path: Path, markers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BEHAVIOUR", "sync:fail-migrate")
    with pytest.raises(DevStackError, match="sync-migrate failed with exit code 3") as err:
        start_stack(fake_settings(tmp_path), timeout=30)
    assert "sync: migration exploded" in str(err.value)
    assert recorded_pids(markers, "serving") == {}


def test_a_child_that_dies_during_start_up_fails_fast_and_the_rest_are_stopped(
    tmp_path: Path, markers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BEHAVIOUR", "analytics:crash")
    started = time.monotonic()
    with pytest.raises(DevStackError, match="analytics exited with code 7") as err:
        start_stack(fake_settings(tmp_path), timeout=60)
    assert time.monotonic() - started < 30
    assert "analytics: cannot bind, giving up" in str(err.value)
    assert not any(pid_alive(pid) for pid in recorded_pids(markers, "serving").values())


def test_a_child_that_never_becomes_ready_times_out_with_its_log(
    tmp_path: Path, markers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BEHAVIOUR", "registry:never-ready")
    # Long enough for the healthy stand-ins to import grpc and serve on a loaded CI machine (3 s
    # was not), so the report names only the child that never becomes ready.
    with pytest.raises(DevStackError, match="registry is not ready after 15s") as err:
        start_stack(fake_settings(tmp_path), timeout=15)
    assert "registry: starting" in str(err.value)
    assert "auth is not ready" not in str(err.value)
    assert not any(pid_alive(pid) for pid in recorded_pids(markers, "serving").values())


def test_ports_default_to_the_design_and_follow_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for svc in SERVICES:
        monkeypatch.delenv(f"SYMPHONY_{svc.upper()}_GRPC_PORT", raising=False)
    monkeypatch.delenv("SYMPHONY_GATEWAY_PORT", raising=False)
    ports = StackPorts.configured()
    assert dict(ports.grpc) == {"auth": 50051, "registry": 50052, "sync": 50053, "analytics": 50054}
    assert ports.gateway == 8080
    monkeypatch.setenv("SYMPHONY_SYNC_GRPC_PORT", "6000")
    monkeypatch.setenv("SYMPHONY_GATEWAY_PORT", "9000")
    ports = StackPorts.configured()
    assert ports.grpc["sync"] == 6000 and ports.gateway == 9000
    monkeypatch.setenv("SYMPHONY_GATEWAY_PORT", "http")
    with pytest.raises(ValueError, match="SYMPHONY_GATEWAY_PORT"):
        StackPorts.configured()


# --- the commands -----------------------------------------------------------------------------

RUN_WITH_FAKES = textwrap.dedent(
    f"""
    import functools, sys
    import symphony_common.devstack.__main__ as cli
    cli.StackSettings = functools.partial(
        cli.StackSettings, command=lambda c, a: [sys.executable, {str(FAKE)!r}, c, a]
    )
    sys.exit(cli.main(["run"]))
    """
)


@pytest.fixture
def run_command(data: Path, markers: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    env = private_env(data)
    env["FAKE_MARKERS"] = str(markers)
    for svc in SERVICES:
        env[f"SYMPHONY_{svc.upper()}_GRPC_PORT"] = str(free_port())
    env["SYMPHONY_GATEWAY_PORT"] = str(free_port())
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_WITH_FAKES],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc, data
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _read_until(proc: subprocess.Popen[str], needle: str, timeout: float = 120) -> str:
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not printed; output:\n{''.join(seen)}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_prints_the_urls_and_stops_everything_on_a_signal(
    run_command: tuple[subprocess.Popen[str], Path], markers: Path, signum: int
) -> None:
    proc, data = run_command
    output = _read_until(proc, "Press Ctrl-C")
    for name in (*COMPONENTS, "PostgreSQL", "Redis"):
        assert f"  {name}" in output
    assert "http://127.0.0.1:" in output and "postgresql://postgres@127.0.0.1:" in output
    token = (data / "service-token").read_text().strip()
    assert len(token) >= 32 and token not in output
    pg_pid = int((data / "postgres" / "postmaster.pid").read_text().split()[0])
    redis_pid = int((data / "redis" / "redis.pid").read_text())

    proc.send_signal(signum)
    assert proc.wait(timeout=60) == 0
    assert not any(pid_alive(pid) for pid in recorded_pids(markers, "serving").values())
    assert sorted(recorded_pids(markers, "stopped")) == sorted(COMPONENTS)
    assert wait_until(lambda: not pid_alive(pg_pid) and not pid_alive(redis_pid), timeout=10)


def test_run_stops_the_others_when_a_child_dies(
    run_command: tuple[subprocess.Popen[str], Path], markers: Path
) -> None:
    proc, _ = run_command
    _read_until(proc, "Press Ctrl-C")
    serving = recorded_pids(markers, "serving")
    os.kill(serving["sync"], signal.SIGKILL)
    assert proc.wait(timeout=60) == 1
    assert proc.stdout is not None
    assert "sync exited with code -9" in proc.stdout.read()
    assert not any(pid_alive(pid) for pid in serving.values())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("def test_ok():\n    pass\n", 0),
        ("def test_broken():\n    assert False\n", 1),
        ("", 5),  # no tests collected: propagated so .ci/run fails
    ],
)
def test_test_command_runs_pytest_against_private_servers_and_propagates_its_exit_code(
    tmp_path: Path, data: Path, body: str, expected: int
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_sample.py").write_text(
        textwrap.dedent(
            """
            import os, psycopg, redis
            def test_backing_services_are_given():
                with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
                    assert conn.execute("SELECT 1").fetchone() == (1,)
                assert redis.Redis.from_url(os.environ["REDIS_URL"]).ping()
            """
        )
        if body
        else ""
    )
    if body:
        (project / "test_outcome.py").write_text(body)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "symphony_common.devstack",
            "test",
            "--",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ],
        cwd=project,
        env=private_env(data),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == expected, result.stdout + result.stderr
    # The private servers were released when pytest finished.
    assert not (data / "postgres" / "postmaster.pid").exists()


# --- the fixtures -----------------------------------------------------------------------------


def test_database_url_is_a_fresh_database_of_this_worker(
    database_url: str, admin_database_url: str
) -> None:
    assert database_url != admin_database_url
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with psycopg.connect(database_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None and f"_{worker}_" in name[0]
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)


def test_redis_url_is_a_database_of_this_worker_other_than_zero(redis_url: str) -> None:
    db = int(redis_url.rsplit("/", 1)[1])
    assert 1 <= db <= 15
    assert redis.Redis.from_url(redis_url).ping()


def test_children_do_not_outlive_a_killed_supervisor(
    run_command: tuple[subprocess.Popen[str], Path], markers: Path
) -> None:
    proc, _ = run_command
    _read_until(proc, "Press Ctrl-C")
    serving = recorded_pids(markers, "serving")
    proc.kill()  # no clean-up runs: the kernel's parent-death signal must stop the children
    proc.wait()
    assert wait_until(lambda: not any(pid_alive(pid) for pid in serving.values()), timeout=30)
