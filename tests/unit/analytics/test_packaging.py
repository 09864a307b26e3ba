"""A wheel of the analytics service carries the ingest fast path built for this Python, so an
image installed from it does not fall back to the slower Python path."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UV = Path(sys.executable).parent / "uv"


def test_the_wheel_carries_the_native_fast_path(tmp_path: Path) -> None:
    if not UV.exists() or not shutil.which(sysconfig.get_config_var("CC").split()[0]):
        if os.environ.get("SYMPHONY_REQUIRE_NATIVE") == "1":
            pytest.fail("uv and a C compiler are required here (SYMPHONY_REQUIRE_NATIVE=1)")
        pytest.skip("no uv or no C compiler: the service runs on its Python path")
    subprocess.run(
        [UV, "build", "--wheel", "--out-dir", tmp_path, ROOT / "services" / "analytics"],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("symphony_analytics-*.whl")
    name = f"symphony_analytics/_fastingest{sysconfig.get_config_var('EXT_SUFFIX')}"
    with zipfile.ZipFile(wheel) as archive:
        natives = [n for n in archive.namelist() if n.endswith(".so")]
        assert natives == [name]  # not the checkout's in-place build
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("/WHEEL")))
        archive.extract(name, tmp_path)
    assert b"Root-Is-Purelib: false" in metadata and b"-none-any" not in metadata
    loader = importlib.machinery.ExtensionFileLoader(
        "symphony_analytics._fastingest", str(tmp_path / name)
    )
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert callable(module.encode)
