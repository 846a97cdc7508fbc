"""kamrisk's MLflow model: a custom ``PythonModel`` around the fitted RiskModel (logged from code).

Input: feature rows with ``account_id`` and ``as_of`` (categoricals as strings, as the pyfunc signature
needs); they are cast to the training category levels inside. Output: one row per input row.
"""

from __future__ import annotations

import mlflow.pyfunc

__all__ = ["KamriskPyfunc"]


class KamriskPyfunc(mlflow.pyfunc.PythonModel):
    """Scores feature rows with the RiskModel in the ``bundle`` artifact."""

    def load_context(self, context):
        import joblib

        self.bundle = joblib.load(context.artifacts["bundle"])

    def predict(self, context, model_input, params=None):
        from ._predict import predict_frame

        params = params or {}
        return predict_frame(self.bundle, model_input, lang=params.get("lang", "en"),
                             reasons=params.get("reasons", "all"))
