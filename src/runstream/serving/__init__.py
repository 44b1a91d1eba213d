"""The model server: MLflow's scoring protocol, following the registry, with A/B arms.

``runstream models serve`` builds :class:`~runstream.serving.options.ServeOptions` at
the CLI edge and calls :func:`~runstream.serving.server.run`. Serving reaches the
registry only through the query service API (the SDK's client), never the lake,
and publishes prediction log events without ever waiting on the broker.
"""
