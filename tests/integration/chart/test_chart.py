"""The Helm chart, offline: `scripts/chart.sh lint` passes, the rendered objects are the ones a
deployment needs and fit together (selectors, ports, probes, hooks), and the check really fails
on a broken manifest."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "chart.sh"
CHART = ROOT / "helm" / "symphony"
EVERYTHING = CHART / "ci" / "everything-values.yaml"
BACKENDS = {"auth": 50051, "registry": 50052, "sync": 50053, "analytics": 50054}
RELEASE = "symphony"  # the script's default release name; fullname is then "symphony"

pytestmark = pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "kubernetes-validate").exists(),
    reason="needs the project venv (helm-python-sdk, kubernetes-validate)",
)

Objects = dict[tuple[str, str], dict[str, Any]]


def run_script(*args: str, chart: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHART": str(chart)} if chart is not None else None
    return subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def render(*values_files: Path) -> Objects:
    args = ["render"]
    for path in values_files:
        args += ["-f", str(path)]
    result = run_script(*args)
    assert result.returncode == 0, result.stderr
    objects: Objects = {}
    for doc in yaml.safe_load_all(result.stdout):
        if doc:
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{key} rendered twice"
            objects[key] = doc
    return objects


@pytest.fixture(scope="module")
def default() -> Objects:
    return render()


@pytest.fixture(scope="module")
def everything() -> Objects:
    return render(EVERYTHING)


def container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(ctr: dict[str, Any]) -> dict[str, Any]:
    env = {item["name"]: item for item in ctr["env"]}
    assert len(env) == len(ctr["env"]), "duplicate environment variable"
    return env


def port_number(ctr: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in ctr["ports"] if p["name"] == port)


def test_lint_renders_and_validates_every_values_set() -> None:
    result = run_script("lint")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "with default values (Kubernetes 1.31.0)" in out
    assert "everything-values.yaml" in out
    assert out.count("kubernetes-validate --strict:") == 2
    assert out.rstrip().endswith("chart: ok")


def test_default_values_render_every_expected_object(default: Objects) -> None:
    expected = {("Secret", f"{RELEASE}-secrets"), ("ServiceAccount", RELEASE)}
    for name in [*BACKENDS, "gateway"]:
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            expected.add((kind, f"{RELEASE}-{name}"))
    for name in BACKENDS:
        expected.add(("Job", f"{RELEASE}-{name}-migrate"))
    assert set(default) == expected


def test_backends_serve_on_their_ports_with_grpc_probes(default: Objects) -> None:
    for name, port in BACKENDS.items():
        deployment = default[("Deployment", f"{RELEASE}-{name}")]
        pod = deployment["spec"]["template"]["spec"]
        ctr = container(deployment)
        assert ctr["command"] == ["python", "-m", f"symphony_{name}", "serve"]
        ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
        assert ports == {"grpc": port, "metrics": 9090}
        env = env_of(ctr)
        svc = name.upper()
        assert env[f"SYMPHONY_{svc}_BIND"]["value"] == "0.0.0.0"
        assert env[f"SYMPHONY_{svc}_GRPC_PORT"]["value"] == str(port)
        assert env[f"SYMPHONY_{svc}_METRICS_PORT"]["value"] == "9090"
        for var, key in [
            ("DATABASE_URL", "database-url"),
            ("REDIS_URL", "redis-url"),
            ("SYMPHONY_SERVICE_TOKEN", "service-token"),
        ]:
            ref = env[var]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"{RELEASE}-secrets", "key": key}
        for peer, peer_port in BACKENDS.items():
            assert env[f"SYMPHONY_{peer.upper()}_ADDRESS"]["value"] == (
                f"{RELEASE}-{peer}.{RELEASE}.svc.cluster.local:{peer_port}"
            )

        readiness, liveness = ctr["readinessProbe"]["grpc"], ctr["livenessProbe"]["grpc"]
        assert readiness == {"port": port, "service": ""}
        assert liveness == {"port": port, "service": "liveness"}
        assert pod["terminationGracePeriodSeconds"] == 30
        assert ctr["resources"]["requests"] and ctr["resources"]["limits"]
        assert ctr["securityContext"]["readOnlyRootFilesystem"] is True
        assert ctr["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        # Autoscaled: the HPA owns the replica count.
        assert "replicas" not in deployment["spec"]


def test_gateway_serves_http_with_healthz_readiness(default: Objects) -> None:
    deployment = default[("Deployment", f"{RELEASE}-gateway")]
    ctr = container(deployment)
    assert ctr["command"] == ["python", "-m", "symphony_gateway", "serve"]
    env = env_of(ctr)
    assert env["SYMPHONY_GATEWAY_BIND"]["value"] == "0.0.0.0"
    assert env["SYMPHONY_GATEWAY_PORT"]["value"] == "8080"
    for peer, port in BACKENDS.items():
        assert env[f"SYMPHONY_{peer.upper()}_ADDRESS"]["value"].endswith(f":{port}")
    readiness, liveness = ctr["readinessProbe"], ctr["livenessProbe"]
    assert readiness["httpGet"]["path"] == "/healthz"
    assert port_number(ctr, readiness["httpGet"]["port"]) == 8080
    assert port_number(ctr, liveness["tcpSocket"]["port"]) == 8080


def test_services_hpas_and_pdbs_point_at_their_deployments(default: Objects) -> None:
    for name in [*BACKENDS, "gateway"]:
        deployment = default[("Deployment", f"{RELEASE}-{name}")]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        ctr = container(deployment)
        port_names = {p["name"] for p in ctr["ports"]}

        service = default[("Service", f"{RELEASE}-{name}")]
        assert service["spec"]["selector"] == selector
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names

        hpa = default[("HorizontalPodAutoscaler", f"{RELEASE}-{name}")]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": deployment["metadata"]["name"],
        }
        pdb = default[("PodDisruptionBudget", f"{RELEASE}-{name}")]
        assert pdb["spec"]["selector"]["matchLabels"] == selector

    # The in-cluster peer addresses name these Services on their gRPC ports.
    for name, port in BACKENDS.items():
        ports = default[("Service", f"{RELEASE}-{name}")]["spec"]["ports"]
        assert [p["port"] for p in ports if p["name"] == "grpc"] == [port]


def test_migrations_are_hooks_that_run_after_their_secret(default: Objects) -> None:
    secret = default[("Secret", f"{RELEASE}-secrets")]
    secret_weight = int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
    keys = {"database-url", "redis-url", "service-token", "page-token-secret"}
    assert set(secret["data"]) == keys
    for name in BACKENDS:
        job = default[("Job", f"{RELEASE}-{name}-migrate")]
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(annotations["helm.sh/hook-weight"]) > secret_weight
        assert "pre-install" in secret["metadata"]["annotations"]["helm.sh/hook"]
        ctr = container(job)
        assert ctr["command"] == ["python", "-m", f"symphony_{name}", "migrate"]
        ref = env_of(ctr)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == f"{RELEASE}-secrets"
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_everything_values_enable_the_optional_parts(everything: Objects) -> None:
    ingress = everything[("Ingress", RELEASE)]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    gateway_service = everything[("Service", f"{RELEASE}-gateway")]
    assert backend == {"name": gateway_service["metadata"]["name"], "port": {"number": 80}}
    assert ingress["spec"]["tls"][0]["secretName"] == "symphony-api-tls"

    for name in [*BACKENDS, "gateway"]:
        assert ("NetworkPolicy", f"{RELEASE}-{name}") in everything
    for name, port in BACKENDS.items():
        headless = everything[("Service", f"{RELEASE}-{name}-headless")]
        assert headless["spec"]["clusterIP"] == "None"
        env = env_of(container(everything[("Deployment", f"{RELEASE}-gateway")]))
        assert env[f"SYMPHONY_{name.upper()}_ADDRESS"]["value"] == (
            f"dns:///{RELEASE}-{name}-headless.{RELEASE}.svc.cluster.local:{port}"
        )

    # registry turns autoscaling off: a fixed replica count, no HPA, its own PDB.
    registry = everything[("Deployment", f"{RELEASE}-registry")]
    assert registry["spec"]["replicas"] == 3
    assert ("HorizontalPodAutoscaler", f"{RELEASE}-registry") not in everything
    assert everything[("PodDisruptionBudget", f"{RELEASE}-registry")]["spec"] == {
        "minAvailable": 2,
        "selector": registry["spec"]["selector"],
    }
    env = env_of(container(registry))
    assert env["SYMPHONY_REGISTRY_MAX_MESSAGE_BYTES"]["value"] == "67108864"
    analytics = container(everything[("Deployment", f"{RELEASE}-analytics")])
    assert analytics["image"] == "ghcr.io/symphony-dev/symphony-analytics:1.2.4"
    assert container(everything[("Deployment", f"{RELEASE}-auth")])["image"].endswith(":1.2.3")


def test_existing_secret_replaces_the_chart_secret(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("secret:\n  existingSecret: prod-symphony\n")
    objects = render(values)
    assert not [key for key in objects if key[0] == "Secret"]
    env = env_of(container(objects[("Deployment", f"{RELEASE}-sync")]))
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "prod-symphony"


def test_values_schema_rejects_a_bad_port(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("services:\n  auth:\n    grpcPort: 70000\n")
    result = run_script("render", "-f", str(values))
    assert result.returncode != 0
    assert "grpcPort" in result.stderr


@pytest.fixture
def chart_copy(tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "symphony"
    shutil.copytree(CHART, copy)
    yield copy


def test_lint_fails_on_manifests_kubernetes_would_reject(chart_copy: Path) -> None:
    templates = chart_copy / "templates"
    # A field the Kubernetes schema does not have: only --strict catches it.
    (templates / "extra-field.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndatta: {}\n"
    )
    # A mistyped apiVersion: kubernetes-validate only warns (exit 0); the script fails on it.
    (templates / "extra-api.yaml").write_text(
        "apiVersion: apps/v2\nkind: Deployment\nmetadata:\n  name: extra\nspec: {}\n"
    )
    result = run_script("lint", chart=chart_copy)
    assert result.returncode != 0
    assert "ERROR" in result.stdout and "configmap/extra" in result.stdout
    assert "WARN" in result.stdout and "apps/v2" in result.stdout
    assert result.stdout.rstrip().endswith("chart: FAILED")


def test_lint_fails_when_helm_lint_does(chart_copy: Path) -> None:
    (chart_copy / "templates" / "broken.yaml").write_text("{{ .Values.nope.missing }}\n")
    result = run_script("lint", chart=chart_copy)
    assert result.returncode != 0
    assert "nil pointer" in result.stdout
