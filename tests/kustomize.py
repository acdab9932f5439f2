"""Renders the kustomizations of deploy/kubernetes the way ``kubectl kustomize`` does, for the
few fields they use (resources, namespace, images, replicas, strategic-merge patches by path),
so the tests check what a cluster receives without kubectl. A field this does not know fails
the test instead of being ignored: a new field needs a line here first."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]
KNOWN_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches"}
# Kinds without a namespace (kustomize's namespace transformer leaves them alone).
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


class KustomizeError(ValueError):
    """A kustomization this renderer cannot render faithfully."""


def load_documents(path: Path) -> list[Resource]:
    """Every non-empty YAML document of ``path``."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def render(folder: Path) -> list[Resource]:
    """The resources of the kustomization in ``folder``, transformed as kustomize would."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KNOWN_FIELDS
    if unknown:
        raise KustomizeError(f"{folder}: fields this renderer does not know: {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        target = (folder / entry).resolve()
        resources += render(target) if target.is_dir() else load_documents(target)
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise KustomizeError(f"{folder}: only strategic-merge patches by path: {patch_entry}")
        for patch in load_documents(folder / patch_entry["path"]):
            _apply_patch(resources, patch, folder)
    for replicas in kustomization.get("replicas", []):
        _named(resources, ("Deployment", "StatefulSet"), replicas["name"], folder)["spec"][
            "replicas"
        ] = replicas["count"]
    for image in kustomization.get("images", []):
        _set_image(resources, image)
    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource["kind"] not in CLUSTER_KINDS:
                resource["metadata"]["namespace"] = namespace
    return resources


def _named(resources: list[Resource], kinds: tuple[str, ...], name: str, folder: Path) -> Resource:
    for resource in resources:
        if resource["kind"] in kinds and resource["metadata"]["name"] == name:
            return resource
    raise KustomizeError(f"{folder}: no {'/'.join(kinds)} named {name}")


def _apply_patch(resources: list[Resource], patch: Resource, folder: Path) -> None:
    target = _named(resources, (patch["kind"],), patch["metadata"]["name"], folder)
    merged = merge(target, patch)
    target.clear()
    target.update(merged)


def merge(base: Any, patch: Any) -> Any:
    """Strategic merge for what the overlays patch: maps merge key by key, lists of named
    items (containers, volumes, env) merge item by item on ``name``, other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        result = copy.deepcopy(base)
        for key, value in patch.items():
            result[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return result
    if isinstance(base, list) and isinstance(patch, list) and _named_items(base + patch):
        result_list = copy.deepcopy(base)
        for item in patch:
            same = next(
                (i for i, old in enumerate(result_list) if old["name"] == item["name"]), None
            )
            if same is None:
                result_list.append(copy.deepcopy(item))
            else:
                result_list[same] = merge(result_list[same], item)
        return result_list
    return copy.deepcopy(patch)


def _named_items(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _set_image(resources: list[Resource], image: dict[str, str]) -> None:
    """``images:`` rewrites every container image named ``name`` (with any tag)."""
    for resource in resources:
        for container in pod_containers(resource):
            name, _, _ = container["image"].partition(":")
            if name == image["name"]:
                new_name = image.get("newName", name)
                tag = image.get("newTag", container["image"].partition(":")[2])
                container["image"] = f"{new_name}:{tag}"


def pod_spec(resource: Resource) -> dict[str, Any] | None:
    """The pod template's spec of a workload (Deployment, Job), else None."""
    template = resource.get("spec", {}).get("template")
    return template["spec"] if isinstance(template, dict) else None


def pod_containers(resource: Resource) -> list[dict[str, Any]]:
    spec = pod_spec(resource)
    if spec is None:
        return []
    return [*spec.get("initContainers", []), *spec["containers"]]
