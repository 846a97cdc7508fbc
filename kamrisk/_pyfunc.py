"""kamrisk's MLflow model: a custom ``PythonModel`` around the TrainedModel (logged from code).

Input: feature rows with ``account_id`` and ``as_of`` (categoricals as strings, as the pyfunc signature
needs); they are cast to the training category levels inside. Output: one row per input row.
"""

from __future__ import annotations

import mlflow.pyfunc

__all__ = ["KamriskPyfunc"]


class KamriskPyfunc(mlflow.pyfunc.PythonModel):
    """Scores feature rows with the :class:`~kamrisk.TrainedModel` in the ``trained_model`` artifact."""

    def load_context(self, context):
        from ._trained import TrainedModel

        self.trained = TrainedModel.load(context.artifacts["trained_model"])

    def predict(self, context, model_input, params=None):
        params = params or {}
        return self.trained.predict_frame(model_input, lang=params.get("lang", "en"),
                                          reasons=params.get("reasons", "all"))
