"""deploy/kubernetes: every manifest, as kustomize renders it, against the schemas of a pinned
Kubernetes version (offline, strict: an unknown field fails), and what no schema knows: that
the probes, ports, commands and settings are the ones this application has, that secrets come
only by reference, and that every pod runs locked down."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
from pydantic import SecretStr

from spirit_tours.cli import main as cli
from spirit_tours.config import Environment, Settings
from spirit_tours.core.crypto import new_key_spec
from tests.kustomize import Resource, load_documents, pod_containers, pod_spec, render

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.34.0"  # the oldest version the manifests promise to run on
FOLDERS = [KUBERNETES / "base", KUBERNETES / "overlays" / "production"]
SECRET_NAME = "spirit-tours"  # created by the operator (README, "Deploying"), never in the repo
API_PORT = 8000


def _secret_settings() -> set[str]:
    """Settings whose values are secrets: the SecretStr fields, and the server URLs (they carry
    passwords)."""
    secret = {"database_url", "redis_url"}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if annotation is SecretStr or SecretStr in typing.get_args(annotation):
            secret.add(name)
    return secret


SECRET_SETTINGS = _secret_settings()


def _env_name(setting: str) -> str:
    return f"SPIRIT_{setting.upper()}"


SETTINGS_ENV = {_env_name(name) for name in Settings.model_fields}


@pytest.fixture(scope="module", params=FOLDERS, ids=lambda folder: folder.name)
def rendered(request: pytest.FixtureRequest) -> list[Resource]:
    folder: Path = request.param
    return render(folder)


def _one(resources: list[Resource], kind: str, name: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def _workloads(resources: list[Resource]) -> Iterator[Resource]:
    return (resource for resource in resources if pod_spec(resource) is not None)


def _container(resources: list[Resource], kind: str, name: str) -> dict[str, Any]:
    containers = pod_containers(_one(resources, kind, name))
    assert len(containers) == 1
    return containers[0]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_every_rendered_resource_is_valid_for_the_pinned_kubernetes(
    rendered: list[Resource],
) -> None:
    kinds = {resource["kind"] for resource in rendered}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job",
            "NetworkPolicy", "ConfigMap", "ServiceAccount"} <= kinds  # fmt: skip
    for resource in rendered:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_validation_rejects_an_unknown_field_and_a_wrong_type(
    rendered: list[Resource],
) -> None:
    """The check above can fail: strict schemas refuse a misspelt field."""
    api = _one(rendered, "Deployment", "spirit-tours-api")
    typo = {**api, "spec": {**api["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSION, strict=True)
    wrong = {**api, "spec": {**api["spec"], "replicas": "three"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSION, strict=True)


def test_every_file_of_the_base_is_in_its_kustomization() -> None:
    base = KUBERNETES / "base"
    listed = set(load_documents(base / "kustomization.yaml")[0]["resources"])
    files = {path.name for path in base.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files


def test_api_probes_answer_on_the_real_server(rendered: list[Resource]) -> None:
    """The probes name the port serve listens on and paths the application serves: the
    liveness path answers 200 always, the readiness path 200 when the servers answer
    (test_api_probe_paths_are_served asks the running application)."""
    api = _container(rendered, "Deployment", "spirit-tours-api")
    port = int(api["command"][api["command"].index("--port") + 1])
    assert port == API_PORT
    assert api["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert api[probe]["httpGet"]["port"] in ("http", port), probe
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # /readyz asks PostgreSQL, then Redis, 2 s each: the probe must wait for both.
    assert api["readinessProbe"]["timeoutSeconds"] >= 5


async def test_api_probe_paths_are_served(http: httpx.AsyncClient) -> None:
    api = _container(render(FOLDERS[0]), "Deployment", "spirit-tours-api")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        response = await http.get(api[probe]["httpGet"]["path"])
        assert response.status_code == 200, (probe, response.text)
    assert (await http.get("/no-such-probe")).status_code == 404  # the check can fail


def test_every_container_runs_a_real_command(rendered: list[Resource]) -> None:
    commands = {
        (resource["kind"], resource["metadata"]["name"]): container["command"]
        for resource in _workloads(rendered)
        for container in pod_containers(resource)
    }
    assert commands[("Deployment", "spirit-tours-api")][:2] == ["spirit-tours", "serve"]
    assert commands[("Deployment", "spirit-tours-worker")][:2] == ["spirit-tours", "worker"]
    assert commands[("Job", "spirit-tours-migrate")] == ["spirit-tours", "migrate"]
    for command in commands.values():
        assert command[1] in cli.commands, command
        options = {param.opts[0] for param in cli.commands[command[1]].params}
        flags = [word for word in command[2:] if word.startswith("--")]
        assert set(flags) <= options, (command, options)


def test_the_worker_probe_is_its_heartbeat_check(rendered: list[Resource]) -> None:
    """The worker serves only its /metrics: its probes run the heartbeat check
    (tests/test_worker_health.py runs the same command against a real worker)."""
    worker = _container(rendered, "Deployment", "spirit-tours-worker")
    for probe in ("startupProbe", "livenessProbe"):
        command = worker[probe]["exec"]["command"]
        assert command[:3] == ["python", "-m", "spirit_tours.jobs.heartbeat"], probe
    assert worker["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    env = {variable["name"]: variable["value"] for variable in worker["env"]}
    listen = "0.0.0.0"  # noqa: S104 - in its pod, for Prometheus
    assert env == {"SPIRIT_WORKER_METRICS_PORT": "9100", "SPIRIT_WORKER_METRICS_HOST": listen}
    assert "readinessProbe" not in worker


def test_settings_are_spirit_settings_and_secrets_come_by_reference(
    rendered: list[Resource],
) -> None:
    assert not [r for r in rendered if r["kind"] == "Secret"], "secrets live outside the repo"
    configmaps = {r["metadata"]["name"]: r for r in rendered if r["kind"] == "ConfigMap"}
    for resource in _workloads(rendered):
        for container in pod_containers(resource):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps
                else:
                    assert source["secretRef"]["name"] == SECRET_NAME
                assert "prefix" not in source  # the keys are the settings' names
            for variable in container.get("env", []):
                assert variable["name"] in SETTINGS_ENV, variable["name"]
                secret = variable["name"] in {_env_name(s) for s in SECRET_SETTINGS}
                if secret or "value" not in variable:
                    assert set(variable) == {"name", "valueFrom"}
                    assert set(variable["valueFrom"]) == {"secretKeyRef"}
    for configmap in configmaps.values():
        for key in configmap["data"]:
            assert key in SETTINGS_ENV, f"{key} is no setting of spirit_tours/config.py"
            setting = key.removeprefix("SPIRIT_").lower()
            assert setting not in SECRET_SETTINGS, f"{key} is a secret: put it in the Secret"


def test_the_configmap_passes_the_production_checks(rendered: list[Resource]) -> None:
    """With the Secret's values, the settings a pod gets are the ones `serve` accepts."""
    values = _one(rendered, "ConfigMap", "spirit-tours-config")["data"]
    fields = {key.removeprefix("SPIRIT_").lower(): value for key, value in values.items()}
    settings = Settings(
        _env_file=None,  # pydantic-settings: read no .env file
        **fields,
        database_url="postgresql://spirit:secret@postgres:5432/spirit",
        redis_url="redis://redis:6379/0",
        jwt_secret=SecretStr("j" * 8 + "W3xQ9zR7vL2mK8pT5nB4cY6hF1dG0sA"),
        email_secret=SecretStr("e" * 8 + "U7kP3nM9qX2wZ5rT8vB1cL4hJ6yF0sD"),
        encryption_keys=SecretStr(new_key_spec("k1")),
        metrics_token=SecretStr("m" * 8 + "Q4wE7rT1yU9iO3pA6sD2fG5hJ8kL0zX"),
        smtp_url=SecretStr("smtp://mailer:password@smtp.example.com:587"),
    )
    assert settings.env == Environment.PRODUCTION
    settings.secured()  # raises InsecureSettingsError with what is wrong
    assert str(settings.data_dir).startswith("/tmp/")  # noqa: S108 - the emptyDir, see below


def test_every_pod_is_locked_down(rendered: list[Resource]) -> None:
    for resource in _workloads(rendered):
        name = resource["metadata"]["name"]
        spec = pod_spec(resource)
        assert spec is not None
        assert spec["automountServiceAccountToken"] is False, name
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["runAsUser"] > 0, name
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name
        mounts_of = {volume["name"]: volume for volume in spec.get("volumes", [])}
        data_dir = _one(rendered, "ConfigMap", "spirit-tours-config")["data"]["SPIRIT_DATA_DIR"]
        for container in pod_containers(resource):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in security["capabilities"], name
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) >= {"cpu", "memory"}, (name, kind)
            # The root filesystem is read-only: the data folder is on a writable emptyDir.
            writable = [
                mount["mountPath"]
                for mount in container.get("volumeMounts", [])
                if "emptyDir" in mounts_of[mount["name"]] and not mount.get("readOnly")
            ]
            assert any(data_dir.startswith(path.rstrip("/") + "/") for path in writable), name


def test_images_are_pinned_to_a_release_tag(rendered: list[Resource]) -> None:
    images = {c["image"] for r in _workloads(rendered) for c in pod_containers(r)}
    assert len(images) == 1, images  # the API, the worker and the migrations: one release
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name, image
        assert "/" not in tag, image
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"{image}: pin a release tag, not {tag!r}"


def test_the_autoscaler_and_the_disruption_budget_cover_the_api_pods(
    rendered: list[Resource],
) -> None:
    api = _one(rendered, "Deployment", "spirit-tours-api")
    worker = _one(rendered, "Deployment", "spirit-tours-worker")
    api_labels = api["spec"]["template"]["metadata"]["labels"]
    worker_labels = worker["spec"]["template"]["metadata"]["labels"]
    hpa = _one(rendered, "HorizontalPodAutoscaler", "spirit-tours-api")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "spirit-tours-api"
    }  # fmt: skip
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = _one(rendered, "PodDisruptionBudget", "spirit-tours-api")
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert _matches(selector, api_labels)
    assert not _matches(selector, worker_labels)
    services = {r["metadata"]["name"]: r for r in rendered if r["kind"] == "Service"}
    worker_pods = services.pop("spirit-tours-worker-pods")  # the workers' /metrics
    assert _matches(worker_pods["spec"]["selector"], worker_labels)
    assert not _matches(worker_pods["spec"]["selector"], api_labels)
    assert {port["targetPort"] for port in worker_pods["spec"]["ports"]} == {"metrics"}
    for service in services.values():
        assert _matches(service["spec"]["selector"], api_labels)
        assert not _matches(service["spec"]["selector"], worker_labels)
        assert {port["targetPort"] for port in service["spec"]["ports"]} == {"http"}
    for deployment in (api, worker):
        assert deployment["spec"]["selector"]["matchLabels"] == {
            key: value
            for key, value in deployment["spec"]["template"]["metadata"]["labels"].items()
            if key in deployment["spec"]["selector"]["matchLabels"]
        }


def _policy_for(rendered: list[Resource], labels: dict[str, str]) -> Resource:
    policies = [
        policy
        for policy in rendered
        if policy["kind"] == "NetworkPolicy"
        and _matches(policy["spec"]["podSelector"]["matchLabels"], labels)
    ]
    assert len(policies) == 1, labels
    return policies[0]


def _ports(rules: list[dict[str, Any]]) -> set[tuple[str, int]]:
    """The (protocol, port) pairs the rules allow, to any peer (the rules name none)."""
    allowed = set()
    for rule in rules:
        assert "to" not in rule, "update this test for peers"
        assert "from" not in rule, "update this test for peers"
        allowed |= {(port.get("protocol", "TCP"), port["port"]) for port in rule["ports"]}
    return allowed


DNS = {("UDP", 53), ("TCP", 53)}
POSTGRES, REDIS, HTTPS = ("TCP", 5432), ("TCP", 6379), ("TCP", 443)
SMTP = {("TCP", 25), ("TCP", 465), ("TCP", 587)}


def test_network_policies_allow_only_what_each_part_uses(rendered: list[Resource]) -> None:
    for resource in _workloads(rendered):
        policy = _policy_for(rendered, resource["spec"]["template"]["metadata"]["labels"])
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    api = _one(rendered, "Deployment", "spirit-tours-api")
    api_policy = _policy_for(rendered, api["spec"]["template"]["metadata"]["labels"])
    assert _ports(api_policy["spec"]["ingress"]) == {("TCP", API_PORT)}
    assert _ports(api_policy["spec"]["egress"]) == DNS | {POSTGRES, REDIS, HTTPS}
    worker = _one(rendered, "Deployment", "spirit-tours-worker")
    worker_policy = _policy_for(rendered, worker["spec"]["template"]["metadata"]["labels"])
    assert _ports(worker_policy["spec"]["ingress"]) == {("TCP", 9100)}  # its /metrics
    assert _ports(worker_policy["spec"]["egress"]) == DNS | {POSTGRES, REDIS, HTTPS} | SMTP
    job = _one(rendered, "Job", "spirit-tours-migrate")
    job_policy = _policy_for(rendered, job["spec"]["template"]["metadata"]["labels"])
    assert job_policy["spec"]["ingress"] == []
    assert _ports(job_policy["spec"]["egress"]) == DNS | {POSTGRES}


def test_the_production_overlay_sets_its_namespace_and_registry() -> None:
    rendered = render(FOLDERS[1])
    namespace = _one(rendered, "Namespace", "spirit-tours")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for resource in rendered:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == "spirit-tours", resource["kind"]
    for resource in _workloads(rendered):
        for container in pod_containers(resource):
            assert container["image"].startswith("registry.example.com/spirit-tours:")
    api = _container(rendered, "Deployment", "spirit-tours-api")
    assert api["resources"]["limits"]["cpu"] == "4"  # the patch merged into the container
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"  # and kept the rest


def _deploying_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n## Deploying\n")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_readme_names_only_real_settings_and_files() -> None:
    section = _deploying_section()
    for name in set(re.findall(r"\bSPIRIT_[A-Z0-9_]+", section)):
        assert name in SETTINGS_ENV, f"README, Deploying: {name} is no setting"
    for path in set(re.findall(r"`(deploy/[^`\s]+)`", section)):
        assert (ROOT / path).exists(), f"README, Deploying: {path} does not exist"
    for name in set(re.findall(r"`([a-z-]+\.yaml)`", section)):
        assert list(KUBERNETES.rglob(name)), f"README, Deploying: no {name}"
