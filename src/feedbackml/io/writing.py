"""Writing outputs: atomically (a temporary file beside the destination, renamed into place), sweeping the
temporaries a killed writer left, and making text cells safe to open in a spreadsheet."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# Excel, LibreOffice and Sheets run a cell that starts with one of these as a formula (tab and CR: they are
# stripped before a formula start).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TEMPORARY = "[a-z0-9_]{8}\\.tmp"  # what mkstemp/mkdtemp add to the prefix: 8 random characters


def spreadsheet_safe(value: str) -> str:
    """A text cell a spreadsheet shows as text: one that would run as a formula gets a leading ``'`` (the OWASP
    advice for CSV injection). A plain number such as ``-3.5`` is no formula and stays as it is."""
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def current_umask() -> int:
    """The process umask, read without changing it where Linux shows it (/proc/self/status), else by setting
    and restoring it under a lock."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


_UMASK_LOCK = threading.Lock()


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; it replaces ``destination`` only if the block succeeds,
    so readers never see a half-written file and a crash leaves the old file intact."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    os.close(descriptor)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        with temporary_path.open("rb") as handle:
            os.fsync(handle.fileno())
        temporary_path.chmod(0o666 & ~current_umask())  # mkstemp makes it 0600; a team shares outputs
        temporary_path.replace(destination)
    finally:
        temporary_path.unlink(missing_ok=True)


def sweep_temporaries(destination: str | os.PathLike[str]) -> int:
    """Remove the temporaries ``atomic_path`` (files) or a staged folder (``mkdtemp`` with the same prefix) left
    for ``destination`` when their writer was killed; they can hold a whole output. Only safe while no other
    writer of ``destination`` runs (the caller holds its lock). Returns how many were removed."""
    destination = Path(destination)
    pattern = re.compile(rf"\.{re.escape(destination.name)}\.{_TEMPORARY}")
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in destination.parent.iterdir():
            if pattern.fullmatch(entry.name):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
    return removed


def write_jsonl(destination: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Write records as UTF-8 JSONL atomically; returns the number written."""
    count = 0
    with atomic_path(destination) as temporary, temporary.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
