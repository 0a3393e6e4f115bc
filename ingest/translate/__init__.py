"""Translation: the foreign segments of an ``Article`` into the target language, offline, with
argos packages run through CTranslate2 (``Translator``); package management (``models``) and the
persistent translation cache.
"""
from ingest import _lazy_exports

__getattr__, __all__ = _lazy_exports(__name__, {"Translator": "translator", "ModelsError": "models"})
