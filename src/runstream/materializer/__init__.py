"""The materializer: projects the event log into the lake, exactly once.

Entry points for the CLI: :func:`run_materializer` (``runstream materialize``) and
:func:`rebuild` with :func:`format_report` (``runstream rebuild``).
"""

from runstream.materializer.loop import Materializer, run_materializer
from runstream.materializer.options import MaterializerOptions
from runstream.materializer.rebuild import RebuildReport, format_report, rebuild

__all__ = [
    "Materializer",
    "MaterializerOptions",
    "RebuildReport",
    "format_report",
    "rebuild",
    "run_materializer",
]
