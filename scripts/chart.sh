#!/usr/bin/env bash
# Helm chart checks, offline. There is no helm binary here: the chart is linted and rendered by
# helm-python-sdk (Helm's own Go SDK, v4, bundled as libhelm_c in the wheel), and every rendered
# manifest is validated against the Kubernetes OpenAPI schemas bundled in kubernetes-validate.
#
#   scripts/chart.sh [lint]                  lint + render (default values and each
#                                            helm/symphony/ci/*-values.yaml) + validate --strict
#   scripts/chart.sh render [-f VALUES]...   print the rendered manifests (like `helm template`)
#
# Environment: KUBE_VERSION (default 1.31.0), RELEASE (symphony), NAMESPACE (symphony),
# CHART_OUT (keep the rendered files there instead of a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
VALIDATE=${KUBERNETES_VALIDATE:-.venv/bin/kubernetes-validate}
CHART=${CHART:-helm/symphony}
KUBE_VERSION=${KUBE_VERSION:-1.31.0}
RELEASE=${RELEASE:-symphony}
NAMESPACE=${NAMESPACE:-symphony}
export CHART KUBE_VERSION RELEASE NAMESPACE

# The Python side: `lint VALUES OUTDIR` lints and renders one values set into OUTDIR (one file
# per template); `render VALUES...` prints the whole stream. VALUES "-" means the defaults.
driver() {
  "$PY" - "$@" <<'PY'
import os
import sys
from pathlib import Path

import helm_python as helm
import yaml

chart_dir = os.environ["CHART"]
kube_version = "v" + os.environ["KUBE_VERSION"].lstrip("v")
release, namespace = os.environ["RELEASE"], os.environ["NAMESPACE"]
SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}


def load_values(files):
    values = {}
    for name in files:
        if name == "-":
            continue
        doc = yaml.safe_load(Path(name).read_text()) or {}
        # Later files win, as with repeated `helm -f`; the SDK coalesces them with the defaults.
        values = _merge(values, doc)
    return values


def _merge(base, over):
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def render(values):
    with helm.Chart.load(chart_dir) as chart:
        chart.validate_schema(values)
        rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    # NOTES.txt is not a manifest; templates that render to nothing are dropped, as helm does.
    return {
        path: text
        for path, text in sorted(rendered.items())
        if not path.endswith("NOTES.txt") and any(yaml.safe_load_all(text))
    }


def check_documents(manifests):
    """What kubernetes-validate does not check: every document is a named object, and no two
    objects share a kind and name."""
    problems, seen = [], {}
    for path, text in manifests.items():
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                problems.append(f"{path}: a document without apiVersion/kind")
                continue
            name = (doc.get("metadata") or {}).get("name")
            if not name:
                problems.append(f"{path}: {doc['kind']} without metadata.name")
                continue
            key = (doc["kind"], name)
            if key in seen:
                problems.append(f"{path}: {doc['kind']}/{name} also rendered by {seen[key]}")
            seen[key] = path
    return problems, len(seen)


def lint(values_file, outdir):
    values = load_values([values_file])
    label = values_file if values_file != "-" else "default values"
    report = helm.lint(chart_dir, values, strict=True, namespace=namespace,
                       kube_version=kube_version)
    failed = False
    for msg in report["messages"]:
        level = SEVERITY.get(msg["severity"], "UNKNOWN")
        print(f"  lint {level} {msg['path']}: {msg['error'].strip()}")
        failed |= msg["severity"] >= 2  # strict: warnings fail too
    failed |= bool(report["errors"])
    try:
        manifests = render(values)
    except helm.HelmError as exc:
        print(f"  render failed: {exc}")
        return 1
    problems, count = check_documents(manifests)
    for problem in problems:
        print(f"  {problem}")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for path, text in manifests.items():
        (out / path.replace("/", "__")).write_text(text)
    print(f"  {label}: lint {'FAILED' if failed else 'ok'}, {count} objects rendered")
    return 1 if failed or problems else 0


def stream(files):
    for path, text in render(load_values(files)).items():
        body = text.strip("\n")
        if not body.startswith("---"):
            body = "---\n" + body
        sys.stdout.write(f"# Source: {path}\n{body}\n")
    return 0


command, args = sys.argv[1], sys.argv[2:]
try:
    sys.exit(lint(*args) if command == "lint" else stream(args))
except helm.HelmError as exc:
    print(f"chart: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

OUT_DIR=""
lint() {
  local status=0 values_sets=("-") set_dir name log
  if [[ -n ${CHART_OUT:-} ]]; then
    OUT_DIR=$CHART_OUT; rm -rf "$OUT_DIR"; mkdir -p "$OUT_DIR"
  else
    OUT_DIR=$(mktemp -d); trap 'rm -rf "$OUT_DIR"' EXIT
  fi
  shopt -s nullglob
  values_sets+=("$CHART"/ci/*-values.yaml)
  for values in "${values_sets[@]}"; do
    name=$([[ $values == - ]] && echo default || basename "$values" .yaml)
    set_dir=$OUT_DIR/$name
    echo "chart: $CHART with ${values/#-/default values} (Kubernetes $KUBE_VERSION)"
    driver lint "$values" "$set_dir" || status=1
    [[ -d $set_dir ]] || { status=1; continue; }
    # kubernetes-validate only warns (exit 0) when it has no schema for a kind, which would let
    # a mistyped apiVersion through: any WARN, ERROR or FATAL line fails the check.
    log=$("$VALIDATE" --strict --quiet -k "$KUBE_VERSION" "$set_dir"/* 2>&1) || status=1
    if [[ -n $log ]]; then
      echo "$log" | sed 's/^/  /'
      status=1
    else
      echo "  kubernetes-validate --strict: $(ls "$set_dir" | wc -l) files valid"
    fi
  done
  if ((status)); then echo "chart: FAILED"; else echo "chart: ok"; fi
  return "$status"
}

render() {
  local files=()
  while (($#)); do
    case $1 in
      -f | --values) files+=("$2"); shift 2 ;;
      *) echo "usage: scripts/chart.sh render [-f VALUES]..." >&2; return 2 ;;
    esac
  done
  driver render "${files[@]}"
}

case "${1:-lint}" in
  lint) lint ;;
  render | template) shift; render "$@" ;;
  *) echo "usage: scripts/chart.sh [lint | render [-f VALUES]...]" >&2; exit 2 ;;
esac
