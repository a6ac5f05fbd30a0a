"""stance: the stance of news text on US sanctuary-city policy (pro / anti / neutral).

Python face of the `stance` Rust library: the same model file, the same
scoring code and the same numbers as the `stance` CLI and HTTP service.

    >>> import stance
    >>> model = stance.Model.load()            # the shipped model, built in
    >>> model.predict_proba(["The county should stop honoring ICE detainers."])
    >>> model.score("One paragraph.\\n\\nAnother.", explain=3)   # as POST /v1/score answers

`stance.spark.score(df)` scores a Spark DataFrame with mapInArrow.
"""

from stance._errors import InputError, ModelError, StanceError
from stance._native import Model, __version__

__all__ = ["Model", "StanceError", "ModelError", "InputError", "__version__"]
