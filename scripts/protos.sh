#!/usr/bin/env bash
# Proto toolchain, offline: stage googleapis protos from the googleapis-common-protos wheel,
# lint/format with buf (from PyPI), generate Python code, and check generated code for drift.
#   scripts/protos.sh stage | lint | format | generate | try | check
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BUF=${BUF:-.venv/bin/buf}
OUT=libs/common/src
THIRD=protos/third_party

stage() {
  local site
  site=$("$PY" -c 'import google.rpc.status_pb2 as m, pathlib; print(pathlib.Path(m.__file__).parents[2])')
  rm -rf "$THIRD" && mkdir -p "$THIRD/google/api" "$THIRD/google/rpc"
  cp "$site"/google/api/{annotations,http,field_behavior,resource,client,launch_stage,httpbody}.proto "$THIRD/google/api/"
  cp "$site"/google/rpc/{status,error_details,code}.proto "$THIRD/google/rpc/"
}

generate_into() {
  local out
  out=$(mkdir -p "$1" && cd "$1" && pwd)
  local wkt
  wkt=$("$PY" -c 'import grpc_tools, pathlib; print(pathlib.Path(grpc_tools.__file__).parent / "_proto")')
  mapfile -t files < <(cd protos && find symphony -name '*.proto' | sort)
  rm -rf "$out/symphony"
  (cd protos && "../$PY" -m grpc_tools.protoc -I. -Ithird_party -I"$wkt" \
      --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" "${files[@]}")
  # Namespace packages need no __init__.py, but mypy and tools resolve them better with one.
  find "$out/symphony" -type d -exec touch {}/__init__.py \;
}

case "${1:-generate}" in
  stage) stage ;;
  lint)
    stage
    "$BUF" lint
    "$BUF" format --diff --exit-code --path protos/symphony ;;
  format) stage; "$BUF" format -w --path protos/symphony ;;
  generate) stage; generate_into "$OUT" ;;
  try)
    # Compile everything into a throw-away folder: a syntax check that touches no tracked file.
    stage
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    generate_into "$tmp" && echo "protos compile" ;;
  check)
    stage
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    generate_into "$tmp"
    if ! diff -r -q "$tmp/symphony" "$OUT/symphony" >/dev/null; then
      diff -r "$tmp/symphony" "$OUT/symphony" | head -40
      echo "generated code drifted from protos/: run 'make protos' and commit" >&2
      exit 1
    fi
    echo "generated code matches protos/" ;;
  *) echo "usage: $0 stage|lint|format|generate|try|check" >&2; exit 2 ;;
esac
