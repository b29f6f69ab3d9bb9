"""Model folders on disk: the manifest that vouches for every file, and atomic publication of a new folder.

A model folder is trusted only if every file in it is listed in ``manifest.json`` with its sha256 and nothing
else is present. Only JSON and safetensors are ever read from it: no pickle, no ``torch.load``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from feedbackml.io import current_umask

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_TRACKED_PACKAGES = (
    "feedbackml",
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "scikit-learn",
    "numpy",
    "onnx",
    "onnxruntime",
)


class ModelFolderError(ValueError):
    """A model folder that is missing, incomplete, tampered with or of an unknown format."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(paths: Sequence[str | os.PathLike[str]]) -> dict[str, str]:
    """sha256 of each training/dev file, so a model records exactly which data it learned from."""
    return {str(path): sha256_file(Path(path)) for path in paths}


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in _TRACKED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


def git_commit(cwd: Path | None = None) -> str | None:
    """The commit of the code that trained a model, when run from a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH is intended
            cwd=cwd or Path.cwd(),
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _model_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(
    folder: Path, *, data: dict[str, str], metrics: dict[str, Any], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """List every file of ``folder`` with its sha256. ``previous``: the manifest of the folder this one
    updates (e.g. by adding an ONNX export); its creation time and training commit are kept, and the update
    is dated separately."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = {
        "format": FORMAT_VERSION,
        "created": previous.get("created", now) if previous else now,
        "files": {str(p.relative_to(folder)): sha256_file(p) for p in _model_files(folder)},
        "data": data,
        "versions": _versions(),
        "git_commit": previous.get("git_commit") if previous else git_commit(),
        "metrics": metrics,
    }
    if previous:
        manifest["updated"] = now
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ModelFolderError(f"{folder}: no such model folder")
    if not path.is_file():
        raise ModelFolderError(f"{folder}: no {MANIFEST} (expected a folder written by 'feedbackml train')")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFolderError(f"{path}: is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise ModelFolderError(f"{path}: unknown manifest format (expected format {FORMAT_VERSION})")
    return manifest


def verify_folder(folder: Path) -> dict[str, Any]:
    """Check every file against the manifest; refuse missing, changed or unlisted files."""
    manifest = read_manifest(folder)
    listed: dict[str, str] = manifest.get("files", {})
    present = {str(p.relative_to(folder)) for p in _model_files(folder)}
    if missing := sorted(set(listed) - present):
        raise ModelFolderError(f"{folder}: files listed in the manifest are missing: {', '.join(missing)}")
    if unlisted := sorted(present - set(listed)):
        raise ModelFolderError(f"{folder}: files not in the manifest: {', '.join(unlisted)} (refusing to load)")
    for name, digest in listed.items():
        if sha256_file(folder / name) != digest:
            raise ModelFolderError(f"{folder}: {name} does not match its sha256 in the manifest (changed or corrupt)")
    return manifest


def model_version(manifest: dict[str, Any]) -> str:
    """A short content hash over every file's digest: two folders with the same files share a version."""
    listing = json.dumps(manifest.get("files", {}), sort_keys=True).encode("utf-8")
    return hashlib.sha256(listing).hexdigest()[:12]


def read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFolderError(f"{path}: cannot be read as JSON ({type(error).__name__})") from None
    if not isinstance(value, dict):
        raise ModelFolderError(f"{path}: expected a JSON object")
    return value


@contextlib.contextmanager
def publishing(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder beside ``destination``; on success it replaces ``destination`` in one
    rename (the old folder is removed only after), on failure it is deleted and ``destination`` is untouched."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.staging-", dir=destination.parent))
    staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it 0700; a team shares reports and models
    try:
        yield staging
        retired = None
        if destination.exists():
            retired = destination.with_name(f".{destination.name}.retired-{os.getpid()}")
            destination.rename(retired)
        staging.rename(destination)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
