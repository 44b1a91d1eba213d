"""The tracking SDK: MLflow's logging API, publishing events without blocking training.

Layers, from the user down: ``fluent`` (module-level API, re-exported by
``runstream``) and ``active`` (its per-thread run stack) use a ``client.RunstreamClient``,
MLflow's ``MlflowClient`` composed of small clients: ``experiment_client``,
``run_client``, ``metric_path`` (the metric fast path), ``run_artifacts`` and
``registry``. All share a ``session`` that opens, on first use, the ``transport``
(bounded ``buffer`` + sender thread; ``messages`` turns buffer entries into Kafka
messages), the ``query_client`` (HTTP reads from the query service, httpx) and the
artifact uploader (``artifacts``). Models: ``models``, ``signature``, ``sklearn``,
``pyfunc``. Where everything goes is resolved by ``endpoints``.
"""
