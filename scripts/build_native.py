"""Builds a C extension in place with the compiler and flags this Python was built with:
`build_native.py SOURCE TARGET`. A missing compiler is a warning (the Python path serves),
unless SYMPHONY_REQUIRE_NATIVE=1."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig


def main(source: str, target: str) -> int:
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    if not shutil.which(compiler[0]):
        print(f"warning: no C compiler ({compiler[0]}): {target} not built; ingest runs in Python")
        return 1 if os.environ.get("SYMPHONY_REQUIRE_NATIVE") == "1" else 0
    command = [
        *compiler,
        "-O2",
        "-Wall",
        "-Werror",
        "-shared",
        "-fPIC",
        f"-I{sysconfig.get_paths()['include']}",
        source,
        "-o",
        target,
    ]
    print(shlex.join(command))
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
