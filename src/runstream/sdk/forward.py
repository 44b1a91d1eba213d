"""Typed forwarding from a facade's method name to the part that implements it.

:class:`~runstream.sdk.client.RunstreamClient` is MLflow's ``MlflowClient`` surface
composed of small clients (runs, experiments, registry, reads). Most of its methods
only pass the call on; writing each as a method would repeat every signature and
docstring. ``forward("registry", ModelRegistryClient.create_registered_model)``
declares the route in one line instead: the attribute holding the part, and the
method called on it. The facade's attribute has the target's signature (for mypy and
IDEs), its docstring (for ``help()``), and nothing is rebound at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")


class Forward(Generic[P, R]):
    """A class attribute that calls ``getattr(instance, part).<method>``.

    Args:
        part: the instance attribute holding the part (``"registry"``).
        method: the part's method, taken from its class
            (``ModelRegistryClient.create_model_version``).
    """

    def __init__(self, part: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.part = part
        self.method = method
        self.__doc__ = method.__doc__
        self.name = method.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Forward[P, R]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> Callable[P, R]: ...

    def __get__(self, instance: object | None, owner: type) -> Forward[P, R] | Callable[P, R]:
        if instance is None:
            return self
        bound: Callable[P, R] = getattr(getattr(instance, self.part), self.method.__name__)
        return bound

    def __repr__(self) -> str:
        return f"<forward {self.name} -> {self.part}.{self.method.__qualname__}>"


def forward(part: str, method: Callable[Concatenate[Any, P], R]) -> Forward[P, R]:
    """Declares that a facade's method is ``part``'s ``method`` (see the module docstring)."""
    return Forward(part, method)


__all__ = ["Forward", "forward"]
