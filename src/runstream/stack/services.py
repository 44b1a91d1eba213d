"""Command lines of the local services, built from settings (no I/O here)."""

from __future__ import annotations

import sys
from pathlib import Path

from runstream.config import Settings, settings_to_env
from runstream.stack.binaries import tansu_binary, weed_binary
from runstream.stack.process import ServiceProcess


def s3_env(settings: Settings) -> dict[str, str]:
    """AWS-style variables pointing a child process at the object store."""
    return {
        "AWS_ACCESS_KEY_ID": settings.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": settings.s3_secret_key,
        "AWS_DEFAULT_REGION": settings.s3_region,
        "AWS_REGION": settings.s3_region,
        "AWS_ENDPOINT": settings.s3_url,
        "AWS_ALLOW_HTTP": "true",
    }


def seaweed_service(settings: Settings) -> ServiceProcess:
    """SeaweedFS in ``mini`` mode: master, volume, filer and S3 in one process."""
    p = settings.ports
    data_dir = (settings.home / "s3").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        f"-ip={settings.host}",
        f"-ip.bind={settings.host}",
        f"-master.port={p.weed_master}",
        f"-master.port.grpc={p.weed_master_grpc}",
        f"-volume.port={p.weed_volume}",
        f"-volume.port.grpc={p.weed_volume_grpc}",
        f"-filer.port={p.weed_filer}",
        f"-filer.port.grpc={p.weed_filer_grpc}",
        f"-s3.port={p.s3}",
        f"-s3.port.grpc={p.weed_s3_grpc}",
        f"-admin.port={p.weed_admin}",
        f"-admin.port.grpc={p.weed_admin_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-bucket={','.join(settings.buckets)}",
    ]
    # weed mini takes its admin identity from the AWS_* variables.
    env = s3_env(settings)
    return ServiceProcess(
        name="s3",
        argv=argv,
        state_dir=settings.home,
        host=settings.host,
        ports=[
            p.s3,
            p.weed_master,
            p.weed_master_grpc,
            p.weed_volume,
            p.weed_volume_grpc,
            p.weed_filer,
            p.weed_filer_grpc,
            p.weed_s3_grpc,
            p.weed_admin,
            p.weed_admin_grpc,
        ],
        env=env,
        cwd=data_dir,
        # Measured: weed mini takes about 15 s to exit on SIGTERM.
        stop_timeout_s=20.0,
    )


def broker_service(settings: Settings) -> ServiceProcess:
    """Tansu with its log stored durably in the broker bucket of the local S3."""
    listener = f"tcp://{settings.host}:{settings.ports.kafka}"
    argv = [
        tansu_binary(),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        f"s3://{settings.broker_bucket}/",
    ]
    return ServiceProcess(
        name="broker",
        argv=argv,
        state_dir=settings.home,
        host=settings.host,
        ports=[settings.ports.kafka],
        env=s3_env(settings),
        stop_timeout_s=10.0,
    )


def app_service(
    settings: Settings, name: str, command: list[str], ports: list[int]
) -> ServiceProcess:
    """A Runstream application process (materializer, query service) run by this Python."""
    return ServiceProcess(
        name=name,
        argv=[sys.executable, "-m", "runstream.cli.main", *command],
        state_dir=settings.home,
        host=settings.host,
        ports=ports,
        env={**settings_to_env(settings), "RUNSTREAM_HOME": str(Path(settings.home).resolve())},
        stop_timeout_s=15.0,
    )


__all__ = ["app_service", "broker_service", "s3_env", "seaweed_service"]
