"""Responses of the native API: one declaration per response, one module per resource.

Each response is a dataclass built on the domain records (:mod:`runstream.query.records`,
the lake's rows, ``LatestMetric``); the route names it as ``response_model`` (OpenAPI)
and sends it through its :class:`~runstream.query.http.schemas.wire.Wire`, which
serializes the records with pydantic-core. ``common`` keeps the orjson response for
JSON written by hand (MLflow's format, errors, health); ``columnar`` writes histories
from Arrow columns.
"""
