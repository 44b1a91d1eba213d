"""The local service processes (S3 store, broker, applications) and their lifecycle."""

from runstream.stack.local import LocalStack, ServiceStatus
from runstream.stack.process import ServiceProcess, free_ports, port_accepts, port_is_free

__all__ = [
    "LocalStack",
    "ServiceProcess",
    "ServiceStatus",
    "free_ports",
    "port_accepts",
    "port_is_free",
]
