"""news-ingest, the library: multilingual news in, normalised Parquet out.  No Prefect here.

One ``Article`` record (``ingest.records``) flows through the stages, each a package with a small
public API: ``sources`` (plan and load inputs), ``extract``, ``language``, ``translate``,
``stories``, ``output``; ``runtime`` drives a run (batches, worker processes, the ordered commit).
``settings`` holds the one ``Settings`` object, built at the edge (``flows/``).

    from ingest.settings import Settings
    from ingest.runtime import run_pipeline
    summary = run_pipeline(["examples/"], Settings(out="out/demo", offline=True))
"""
import importlib


def _lazy_exports(package: str, public: dict[str, str]):
    """``(__getattr__, __all__)`` for a stage package: each public name (``name -> module``) loads
    its module on first use, so importing a package costs nothing until a name is used."""
    def __getattr__(name: str):
        if name in public:
            return getattr(importlib.import_module(f"{package}.{public[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__, sorted(public)
