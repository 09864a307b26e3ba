"""The analytics ingest fast path (`src/symphony_analytics/_fastingest.c`), compiled with the
compiler and flags of the Python that will import it. Two callers:

- `make install` runs this file (`hatch_build.py SOURCE TARGET`) to build it in place, next to
  the source, where the editable install imports it;
- hatch runs `NativeBuildHook` when it builds a wheel, so a wheel (and an image installed from
  it) carries the fast path too; the wheel is then tagged for this platform and Python.

No C compiler: a warning, and the service runs on its Python path (slower, same answers),
unless SYMPHONY_REQUIRE_NATIVE=1, which makes it an error (CI)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).parent / "src" / "symphony_analytics" / "_fastingest.c"
REQUIRED = os.environ.get("SYMPHONY_REQUIRE_NATIVE") == "1"


def compile_extension(source: Path, target: Path) -> bool:
    """True when `target` was built; False (after a warning) when there is no compiler."""
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    if not shutil.which(compiler[0]):
        print(f"warning: no C compiler ({compiler[0]}): {target} not built; ingest runs in Python")
        if REQUIRED:
            raise SystemExit(1)
        return False
    include = sysconfig.get_paths()["include"]
    command = [*compiler, "-O2", "-Wall", "-Werror", "-shared", "-fPIC", f"-I{include}"]
    command += [str(source), "-o", str(target)]
    print(shlex.join(command))
    subprocess.run(command, check=True)
    return True


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run by make, outside any build
    BuildHookInterface = object  # type: ignore[assignment,misc]


class NativeBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # the editable install imports the extension make builds in place
        self._out = tempfile.mkdtemp(prefix="symphony-native-")
        target = Path(self._out) / f"_fastingest{sysconfig.get_config_var('EXT_SUFFIX')}"
        if compile_extension(SOURCE, target):
            build_data["force_include"][str(target)] = f"symphony_analytics/{target.name}"
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if getattr(self, "_out", None):
            shutil.rmtree(self._out, ignore_errors=True)


if __name__ == "__main__":
    source, target = sys.argv[1:]
    compile_extension(Path(source), Path(target))
