"""The MLproject file, its entry points and typed parameters, read with MLflow's own code.

MLflow's ``mlflow.projects._project_spec`` parses the file (``name``, ``python_env``,
``conda_env``, ``docker_env``, entry points), resolves a folder without MLproject to
its ``.py`` / ``.sh`` scripts, and templates the command (shell quoting, extra ``-P``
keys as ``--key value``). What it does not do, and this module adds before anything
runs:

1. Parameter types are checked: MLflow passes ``-P alpha=abc`` for a ``float``
   straight to the command; here it is an error naming the parameter and its type,
   as is a default that does not fit its own type, or a type MLflow does not know.
2. Every MLflow error (unknown entry point, missing parameter, bad path or URI)
   becomes a :class:`~runstream.errors.ProjectError` with MLflow's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runstream.errors import ProjectError

PARAMETER_TYPES = ("float", "int", "string", "path", "uri")
DEFAULT_ENTRY_POINT = "main"


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of an entry point."""

    name: str
    type: str
    default: str | None


@dataclass(frozen=True)
class Project:
    """A loaded project.

    Attributes:
        work_dir: the folder holding the project's files.
        name: the MLproject ``name`` (None without one).
        env_type: MLflow's environment kind: ``python_env``, ``conda_env`` or ``docker_env``.
        env_file: the ``python_env.yaml`` / ``conda.yaml`` file, when there is one.
        docker_image: the ``docker_env`` image, when there is one.
        entry_points: the names declared in the MLproject file.
    """

    work_dir: Path
    name: str | None
    env_type: str
    env_file: Path | None
    docker_image: str | None
    entry_points: tuple[str, ...]
    mlflow_project: Any


@dataclass(frozen=True)
class Invocation:
    """An entry point with its parameters resolved: what runs and what is logged."""

    entry_point: str
    command: str
    params: dict[str, str]


def load_project(work_dir: Path) -> Project:
    """Reads the MLproject file of ``work_dir`` (or none: scripts run as entry points).

    Raises:
        ProjectError: an invalid MLproject file, or a missing environment file.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.projects import _project_spec

    try:
        spec = _project_spec.load_project(str(work_dir))
    except (MlflowException, OSError, ValueError, AttributeError) as exc:
        raise ProjectError(f"{work_dir}: {_message(exc)}") from exc
    docker = spec.docker_env or {}
    return Project(
        work_dir=work_dir,
        name=spec.name,
        env_type=str(spec.env_type),
        env_file=Path(spec.env_config_path) if spec.env_config_path else None,
        docker_image=docker.get("image"),
        entry_points=tuple(spec._entry_points or ()),
        mlflow_project=spec,
    )


def parameters_of(project: Project, entry_point: str) -> dict[str, Parameter]:
    """The declared parameters of an entry point.

    Raises:
        ProjectError: no such entry point (and not a ``.py`` / ``.sh`` script).
    """
    point = _entry_point(project, entry_point)
    return {
        name: Parameter(name, str(p.type), None if p.default is None else str(p.default))
        for name, p in point.parameters.items()
    }


def resolve(
    project: Project, entry_point: str, values: Mapping[str, str], storage_dir: Path
) -> Invocation:
    """Checks the parameters and templates the command of ``entry_point``.

    Args:
        project: the loaded project.
        entry_point: an MLproject entry point, or a script file of the project.
        values: the ``-P key=value`` pairs; keys not declared are passed as ``--key value``.
        storage_dir: where MLflow downloads remote ``path`` parameters.

    Raises:
        ProjectError: unknown entry point, missing parameter, a value of the wrong type.
    """
    from mlflow.exceptions import MlflowException

    point = _entry_point(project, entry_point)
    declared = parameters_of(project, entry_point)
    for parameter in declared.values():
        if parameter.type not in PARAMETER_TYPES:
            raise ProjectError(
                f"entry point {entry_point!r}: parameter {parameter.name!r} has type "
                f"{parameter.type!r}; MLproject types are {', '.join(PARAMETER_TYPES)}"
            )
        if parameter.name in values:
            check_type(parameter, values[parameter.name], "got")
        elif parameter.default is not None:
            check_type(parameter, parameter.default, "its default is")
    try:
        command = point.compute_command(dict(values), str(storage_dir))
    except (MlflowException, OSError, KeyError, IndexError, ValueError) as exc:
        raise ProjectError(f"entry point {entry_point!r}: {_message(exc)}") from exc
    params = {name: p.default for name, p in declared.items() if p.default is not None}
    params.update(values)
    return Invocation(entry_point, str(command), {k: str(v) for k, v in params.items()})


def check_type(parameter: Parameter, value: str, said: str) -> None:
    """Raises ProjectError when ``value`` does not parse as the parameter's type."""
    kinds: dict[str, tuple[type, str]] = {"float": (float, "a float"), "int": (int, "an int")}
    if parameter.type not in kinds:
        return
    parse, article = kinds[parameter.type]
    try:
        parse(value)
    except ValueError:
        raise ProjectError(
            f"parameter {parameter.name!r} is {article}, but {said} {value!r}"
        ) from None


def _entry_point(project: Project, entry_point: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return project.mlflow_project.get_entry_point(entry_point)
    except MlflowException as exc:
        declared = ", ".join(project.entry_points) or "none"
        raise ProjectError(
            f"unknown entry point {entry_point!r} (entry points of the project: {declared}; "
            "a .py or .sh file of the project also runs as one)"
        ) from exc


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message if isinstance(message, str) else exc)


__all__ = [
    "DEFAULT_ENTRY_POINT",
    "PARAMETER_TYPES",
    "Invocation",
    "Parameter",
    "Project",
    "check_type",
    "load_project",
    "parameters_of",
    "resolve",
]
