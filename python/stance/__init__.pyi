import os
from typing import Any, Iterable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from stance._errors import InputError as InputError
from stance._errors import ModelError as ModelError
from stance._errors import StanceError as StanceError

__version__: str

class Model:
    """A stance model: the shipped one or one read from a `stance train` model file."""

    @staticmethod
    def load(path: str | os.PathLike[str] | None = None) -> Model:
        """Loads the model at `path` (None: the shipped model). Raises ModelError."""
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def checksum(self) -> str:
        """`sha256:<hex>` of the model body."""
    @property
    def labels(self) -> list[str]:
        """Label names in the column order of predict_proba and score_arrow."""
    def predict_proba(self, texts: Iterable[str]) -> npt.NDArray[np.float64]:
        """Document probabilities, shape (n, 3), columns in `labels` order.

        Raises InputError (a ValueError) naming the index of a non-str or blank text.
        """
    def predict(self, texts: Iterable[str]) -> list[str]:
        """Document labels. Raises InputError like predict_proba."""
    def score(self, text: str, paragraphs: bool = True, explain: int = 0) -> dict[str, Any]:
        """The answer of `POST /v1/score` for this text, as a dict.

        paragraphs=False drops the "paragraphs" key (unless explain > 0).
        Raises InputError for a blank text.
        """
    def score_arrow(
        self, data: pa.RecordBatch | pa.Table | Any, text_column: str = "text"
    ) -> pa.RecordBatch:
        """Scores a string column; columns label, anti, neutral, pro, stance_index,
        low_confidence, error (set, with nulls elsewhere, for a null or blank text).

        Raises InputError when the column is missing or not a string column.
        """
