"""What a published version promises about its files, and the check made before trusting them.

Every file's size and SHA-256 is recorded in the manifest when a version is written; loading
compares them first, so a truncated, flipped or swapped file is refused in one line instead of
answering 500s or NaN scores later.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from qa.errors import IndexCorruptError
from qa.search.encoders.base import Vectors

_BLOCK = 1 << 20


class FileRecord(BaseModel):
    size: int
    sha256: str


def record_files(folder: Path, *, exclude: str) -> dict[str, FileRecord]:
    """Size and SHA-256 of every file under `folder` (but `exclude`), by relative POSIX path."""
    return {
        path.relative_to(folder).as_posix(): FileRecord(
            size=path.stat().st_size, sha256=_hash(path)
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != exclude
    }


def verify_files(folder: Path, recorded: dict[str, FileRecord], *, exclude: str) -> None:
    """Refuse a folder whose files differ in any way from what was recorded at publication."""
    if not recorded:  # every version has files: a manifest without them was cut or edited
        raise IndexCorruptError(
            f"the manifest of the index in {folder} lists none of its files (no `files`): "
            "rebuild it with `qa index`"
        )
    present = {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.name != exclude
    }
    if missing := sorted(recorded.keys() - present):
        raise IndexCorruptError(f"the index in {folder} lacks {missing[0]}: rebuild it")
    if extra := sorted(present - recorded.keys()):
        raise IndexCorruptError(f"the index in {folder} has an unexpected file {extra[0]}")
    for name, expected in recorded.items():
        path = folder / name
        size = path.stat().st_size
        if size != expected.size:
            raise IndexCorruptError(
                f"the index in {folder} is damaged: {name} has {size} bytes, "
                f"{expected.size} were written"
            )
        if _hash(path) != expected.sha256:
            raise IndexCorruptError(
                f"the index in {folder} is damaged: {name} does not match its checksum"
            )


def check_vectors(folder: Path, name: str, vectors: Vectors, rows: int, dimension: int) -> None:
    """Refuse vectors of the wrong shape or holding NaN or infinities."""
    if vectors.ndim != 2 or vectors.shape != (rows, dimension):
        raise IndexCorruptError(
            f"the index in {folder} is inconsistent: {name} holds {vectors.shape} vectors, "
            f"expected ({rows}, {dimension})"
        )
    if not np.isfinite(vectors).all():
        raise IndexCorruptError(f"the index in {folder} is damaged: {name} holds NaN or infinity")


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` to disk, so a rename after it is durable."""
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        fsync_path(path)
    fsync_path(folder)


def fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
