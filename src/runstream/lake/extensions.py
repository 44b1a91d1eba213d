"""DuckDB extensions, installed from the pinned PyPI wheels and loaded by name.

The ``duckdb-extension-*`` wheels carry the signed official builds of the extensions
for exactly the pinned DuckDB release. Installing from those files instead of
DuckDB's extension repository keeps the lake working on machines without access to
``extensions.duckdb.org``; automatic installation from the network is switched off so
a missing wheel fails fast with a clear message instead of hanging on a download.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import duckdb

from runstream.errors import LakeError


@dataclass(frozen=True)
class Extension:
    """One DuckDB extension shipped in a wheel.

    Attributes:
        name: the name DuckDB loads it by (``LOAD <name>``).
        module: the Python package of the wheel that holds the file.
    """

    name: str
    module: str


DUCKLAKE = Extension("ducklake", "duckdb_extension_ducklake")
HTTPFS = Extension("httpfs", "duckdb_extension_httpfs")
# Not duckdb_extension_sqlite: that wheel's file name does not match its entry point.
SQLITE = Extension("sqlite_scanner", "duckdb_extension_sqlite_scanner")
POSTGRES = Extension("postgres_scanner", "duckdb_extension_postgres_scanner")


def extension_file(ext: Extension) -> Path:
    """Return the ``.duckdb_extension`` file inside the wheel of ``ext``.

    Raises:
        LakeError: the wheel is not installed or holds no build for this DuckDB.
    """
    spec = importlib.util.find_spec(ext.module)
    if spec is None or not spec.submodule_search_locations:
        raise LakeError(
            f"DuckDB extension {ext.name!r} is missing: install the "
            f"{ext.module.replace('_', '-')}=={duckdb.__version__} wheel"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    path = package_dir / "extensions" / f"v{duckdb.__version__}" / f"{ext.name}.duckdb_extension"
    if not path.is_file():
        raise LakeError(
            f"{path} not found: the {ext.module} wheel does not match duckdb "
            f"{duckdb.__version__}; reinstall with pip install -e ."
        )
    return path


def load_extensions(con: duckdb.DuckDBPyConnection, *extensions: Extension) -> None:
    """Load ``extensions`` into ``con``, installing each from its wheel first if needed.

    Args:
        con: an open DuckDB connection.
        *extensions: the extensions to load, in order.

    Raises:
        LakeError: an extension could not be installed or loaded.
    """
    # Never reach for the network: the wheel is the one source of extensions.
    con.execute("SET autoinstall_known_extensions = false")
    for ext in extensions:
        try:
            con.execute(f"LOAD {ext.name}")
            continue
        except duckdb.Error:
            pass  # not installed yet in this extension directory: install below
        path = extension_file(ext)
        try:
            con.execute(f"INSTALL '{_quote(str(path))}'")
            con.execute(f"LOAD {ext.name}")
        except duckdb.Error as exc:
            raise LakeError(f"cannot load DuckDB extension {ext.name} from {path}: {exc}") from exc


def _quote(text: str) -> str:
    return text.replace("'", "''")


__all__ = [
    "DUCKLAKE",
    "HTTPFS",
    "POSTGRES",
    "SQLITE",
    "Extension",
    "extension_file",
    "load_extensions",
]
