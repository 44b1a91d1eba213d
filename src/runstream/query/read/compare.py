"""Runs side by side: which params differ, the latest metrics, and their histories."""

from __future__ import annotations

from collections.abc import Sequence

from runstream.errors import NotFoundError, ValidationError
from runstream.query.read.downsample import HistoryRequest, XAxis
from runstream.query.read.metrics import histories
from runstream.query.read.port import ReadSession
from runstream.query.read.runs import Columns, load_runs
from runstream.query.records import RunComparison

MAX_COMPARE_RUNS = 100
MAX_HISTORY_KEYS = 50


def compare_runs(
    session: ReadSession,
    run_ids: Sequence[str],
    *,
    metric_keys: Sequence[str] | None = None,
    history_points: int = 0,
    x_axis: XAxis = XAxis.STEP,
) -> RunComparison:
    """Compare runs: params split into differing and shared, metrics, optional histories.

    Args:
        session: the read session.
        run_ids: the runs, in display order (2 to :data:`MAX_COMPARE_RUNS`).
        metric_keys: metrics to include (every key of any run when None).
        history_points: downsample each history to this many points; 0 = no histories.
        x_axis: step or time, for histories.

    Raises:
        ValidationError: too few or too many runs, or too many history keys.
        NotFoundError: one of the runs does not exist.
    """
    ids = list(dict.fromkeys(run_ids))
    if not 1 <= len(ids) <= MAX_COMPARE_RUNS:
        raise ValidationError(f"compare takes 1 to {MAX_COMPARE_RUNS} run ids, got {len(ids)}")
    runs = load_runs(session, ids, Columns(metrics=metric_keys))
    missing = [i for i in ids if i not in {r.info.run_id for r in runs}]
    if missing:
        raise NotFoundError(f"Runs not found: {', '.join(missing[:10])}")
    every_param = sorted({k for r in runs for k in r.params})
    differ = [k for k in every_param if len({r.params.get(k) for r in runs}) > 1]
    same = [k for k in every_param if k not in set(differ)]
    keys = sorted({k for r in runs for k in r.metrics})
    series = []
    if history_points > 0 and keys:
        if len(keys) > MAX_HISTORY_KEYS:
            raise ValidationError(
                f"{len(keys)} metric keys: pass at most {MAX_HISTORY_KEYS} in metric_keys "
                "to get histories"
            )
        series = histories(session, HistoryRequest(tuple(ids), tuple(keys), history_points, x_axis))
    return RunComparison(runs, differ, same, keys, series)


__all__ = ["MAX_COMPARE_RUNS", "compare_runs"]
