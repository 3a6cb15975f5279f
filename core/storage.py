"""Where uploaded files live. The app only talks to FileStore, so an object store can replace the local folder."""

import os
import re
from pathlib import Path
from typing import Protocol

from core.settings import Settings

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class FileStore(Protocol):
    def save(self, key: str, content: bytes) -> None: ...

    def read(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class LocalFileStore:
    """Files under <data_dir>/uploads, named by generated keys only: a user's file name never reaches the file system."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not _SAFE_KEY.match(key):
            raise ValueError(f"Unsafe storage key: {key!r}")
        return self.root / key

    def save(self, key: str, content: bytes) -> None:
        path = self._path(key)
        temporary = path.with_name(path.name + ".part")
        temporary.write_bytes(content)
        # Renaming makes the file appear whole or not at all.
        os.replace(temporary, path)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def file_store(settings: Settings) -> FileStore:
    return LocalFileStore(settings.data_dir / "uploads")
