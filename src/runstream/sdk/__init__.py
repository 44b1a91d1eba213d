"""The tracking SDK: MLflow's logging API, publishing events without blocking training.

Layers, from the user down: ``fluent`` (module-level API, re-exported by
``runstream``) and ``active`` (its per-thread run stack) use a
``client.RunstreamClient`` (runs, metrics, params, tags, artifacts) built on
``experiment_client`` and ``registry``; all share a ``session`` that opens, on first
use, the ``transport`` (bounded ``buffer`` + sender thread + ``chunks``), the
``tracking_client`` (query service, httpx) and the artifact uploader
(``artifacts``, ``run_artifacts``). Models: ``models``, ``signature``, ``sklearn``,
``pyfunc``. Where everything goes is resolved by ``endpoints``.
"""
