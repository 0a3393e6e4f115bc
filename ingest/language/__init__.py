"""Language: the language and script of every segment and of the whole document, splitting
segments where the language switches and flagging mixed-language documents (``annotate``);
``detect`` for a single text.  Owns the identification backends, their tables, the script
counter and the sentence splitter used to find switches.
"""
from ingest import _lazy_exports

__getattr__, __all__ = _lazy_exports(__name__, {"annotate": "detect", "detect": "detect",
    "warm_up": "detect", "get_backend": "backends"})
