"""Runtime: driving a run.  ``process_batch`` does one batch's per-document work anywhere (a worker
process, a Prefect task, a Dask worker); ``Pipeline`` commits staged batches in order, assigns
stories and writes the final files; ``run_pipeline`` does both; ``workers`` is the library's own
process pool (forked from a server that has loaded the models once); ``state`` is the run lock and
the state committed after each write.
"""
from ingest import _lazy_exports

__getattr__, __all__ = _lazy_exports(__name__, {"run_pipeline": "pipeline", "Pipeline": "pipeline",
    "new_run_id": "pipeline", "Batch": "batch", "BatchResult": "batch", "process_batch": "batch"})
