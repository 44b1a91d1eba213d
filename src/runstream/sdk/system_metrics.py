"""System metrics of a run: CPU, memory, disk, network and NVIDIA GPUs, from a background thread.

``start_run(log_system_metrics=True)``, or ``RUNSTREAM_ENABLE_SYSTEM_METRICS_LOGGING``
/ MLflow's ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`` set to ``true``, starts one daemon
thread per run. It samples every ``interval_s`` seconds
(``RUNSTREAM_SYSTEM_METRICS_SAMPLING_INTERVAL`` / ``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL``,
default 10 as in MLflow), averages ``samples`` samples
(``..._SAMPLES_BEFORE_LOGGING``, default 1), and logs them with MLflow's names
(``system/cpu_utilization_percentage``, ``system/gpu_0_utilization_percentage``, ...)
at steps 0, 1, 2, ... through the metric fast path: the training loop never waits for
it. GPUs are read through ``nvidia-ml-py`` when it finds one. psutil and nvidia-ml-py
come with ``pip install 'runstream[system-metrics]'``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runstream.errors import ConfigError

logger = logging.getLogger("runstream.sdk")

PREFIX = "system/"
EXTRA = "pip install 'runstream[system-metrics]'"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SystemMetricsOptions:
    """Whether and how often system metrics are logged.

    Attributes:
        enabled: log them for runs that do not say otherwise.
        interval_s: seconds between samples.
        samples: samples averaged into one logged point.
    """

    enabled: bool = False
    interval_s: float = 10.0
    samples: int = 1


def _first(environ: Mapping[str, str], suffix: str) -> str | None:
    for prefix in ("RUNSTREAM_", "MLFLOW_"):
        value = environ.get(prefix + suffix)
        if value:
            return value
    return None


def options_from_env(environ: Mapping[str, str]) -> SystemMetricsOptions:
    """Reads the RUNSTREAM_ (or else MLFLOW_) system-metrics variables.

    Raises:
        ConfigError: an interval or sample count that is not a positive number (named).
    """
    enabled = (_first(environ, "ENABLE_SYSTEM_METRICS_LOGGING") or "").lower() in _TRUE
    interval, samples = 10.0, 1
    raw = _first(environ, "SYSTEM_METRICS_SAMPLING_INTERVAL")
    try:
        if raw is not None:
            interval = float(raw)
        raw = _first(environ, "SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING")
        if raw is not None:
            samples = int(raw)
    except ValueError:
        interval = samples = 0
    if not interval > 0 or samples < 1:
        raise ConfigError(
            "RUNSTREAM_SYSTEM_METRICS_SAMPLING_INTERVAL must be a positive number of seconds "
            "and RUNSTREAM_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING a positive integer"
        )
    return SystemMetricsOptions(enabled, interval, samples)


class _Gpus:
    """NVIDIA GPUs through NVML; empty when nvidia-ml-py or a GPU is missing."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._handles: list[Any] = []
        try:
            nvml = importlib.import_module("pynvml")
            nvml.nvmlInit()
            self._handles = [
                nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())
            ]
            self._nvml = nvml
        except Exception as exc:  # no library, no driver or no GPU: no GPU metrics
            logger.debug("runstream: no GPU metrics: %s", exc)

    def sample(self, into: dict[str, list[float]]) -> None:
        nvml = self._nvml
        for i, handle in enumerate(self._handles):
            try:
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                into[f"gpu_{i}_memory_usage_percentage"].append(memory.used / memory.total * 100)
                into[f"gpu_{i}_memory_usage_megabytes"].append(memory.used / 1e6)
                into[f"gpu_{i}_utilization_percentage"].append(
                    float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                )
                power = nvml.nvmlDeviceGetPowerUsage(handle)
                into[f"gpu_{i}_power_usage_watts"].append(power / 1000)
                limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
                into[f"gpu_{i}_power_usage_percentage"].append(power / limit * 100)
            except Exception as exc:  # one failing reading must not stop the others
                logger.debug("runstream: GPU %d metrics: %s", i, exc)

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception as exc:
                logger.debug("runstream: NVML shutdown: %s", exc)


class SystemMetricsMonitor:
    """Samples the machine in a daemon thread and logs ``system/...`` metrics of one run.

    Args:
        run_id: the run the metrics belong to.
        log: logs one point, ``(run_id, key, value, step)`` (the metric fast path).
        options: interval and samples per point.
    """

    def __init__(
        self,
        run_id: str,
        log: Callable[[str, str, float, int], None],
        options: SystemMetricsOptions,
    ) -> None:
        self.run_id = run_id
        self._log = log
        self._options = options
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.step = 0

    def start(self) -> SystemMetricsMonitor:
        """Starts the sampling thread.

        Raises:
            ConfigError: psutil is not installed (the message names the extra).
        """
        try:
            psutil = importlib.import_module("psutil")
        except ImportError as exc:
            raise ConfigError(
                f"system metrics need psutil, which is not installed: {EXTRA}"
            ) from exc
        self._thread = threading.Thread(
            target=self._loop, args=(psutil,), name=f"runstream-system-{self.run_id}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stops the thread (the point being sampled is dropped) and waits for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self, psutil: Any) -> None:
        gpus = _Gpus()
        net = psutil.net_io_counters()
        psutil.cpu_percent()  # the first call only starts psutil's CPU measurement
        try:
            while not self._stop.is_set():
                samples: dict[str, list[float]] = defaultdict(list)
                for _ in range(self._options.samples):
                    if self._stop.wait(self._options.interval_s):
                        return
                    self._sample(psutil, samples)
                    gpus.sample(samples)
                now = psutil.net_io_counters()
                samples["network_receive_megabytes"] = [(now.bytes_recv - net.bytes_recv) / 1e6]
                samples["network_transmit_megabytes"] = [(now.bytes_sent - net.bytes_sent) / 1e6]
                for key, values in samples.items():
                    self._log(self.run_id, PREFIX + key, sum(values) / len(values), self.step)
                self.step += 1
        except Exception as exc:  # the monitor must never take the training process down
            logger.warning("runstream: system metrics of run %s stopped: %s", self.run_id, exc)
        finally:
            gpus.close()

    @staticmethod
    def _sample(psutil: Any, into: dict[str, list[float]]) -> None:
        into["cpu_utilization_percentage"].append(float(psutil.cpu_percent()))
        memory = psutil.virtual_memory()
        into["system_memory_usage_megabytes"].append(memory.used / 1e6)
        into["system_memory_usage_percentage"].append(memory.used / memory.total * 100)
        disk = psutil.disk_usage("/")
        into["disk_usage_percentage"].append(float(disk.percent))
        into["disk_usage_megabytes"].append(disk.used / 1e6)
        into["disk_available_megabytes"].append(disk.free / 1e6)


__all__ = [
    "EXTRA",
    "PREFIX",
    "SystemMetricsMonitor",
    "SystemMetricsOptions",
    "options_from_env",
]
