"""Settings of a lake on local disk, for the tests that open one."""

from __future__ import annotations

from pathlib import Path

from runstream.config import Settings


def local_lake_settings(home: Path) -> Settings:
    """A SQLite catalog and Parquet data under ``home/lake`` (no S3), artifacts bucket ``art``."""
    return Settings(
        home=home,
        lake_catalog=str(home / "lake" / "catalog.sqlite"),
        lake_data_path=str(home / "lake" / "data"),
        artifacts_bucket="art",
    )
