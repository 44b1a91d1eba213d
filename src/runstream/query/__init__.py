"""The read-only query service: HTTP over the lake (native API, MLflow REST, UI, SQL).

Layout (imports point down):

- ``app`` builds the FastAPI app from settings; ``middleware`` (token, snapshot
  header, metrics), ``deps`` (typed dependencies), ``errors`` (the one table from
  domain errors to HTTP answers).
- ``routes/`` (one router per resource) and ``mlflow_api/`` (MLflow's REST read
  API) call ``readers/``, which return ``domain`` objects; ``schemas/`` hold the
  response models and their JSON builders.
- ``readers/`` read the lake through a ``lake_port.ReadSession``, implemented by
  ``lake_session`` over ``runstream.lake.reader``; no module here imports duckdb.
- Pure pieces: ``search_*`` and ``page_token`` (run search), ``simple_filter``
  (experiment and registry filters), ``downsample``, ``sql_guard``,
  ``artifact_paths``, ``model_uri``, ``paging``.
- ``ui/`` (static page); the CLI commands live in ``runstream.cli.query_commands``.
"""
