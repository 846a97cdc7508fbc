"""kamrisk's MLflow model: a custom ``PythonModel`` around the TrainedModel (logged from code).

Input: feature rows with ``account_id`` and ``as_of`` (categoricals as strings, as the pyfunc signature
needs); they are cast to the training category levels inside. Output: one row per input row.

Served over REST (``mlflow models serve``), a request a user got wrong (``lang='fr'``, ``reasons='x'``, a
missing key column) answers HTTP 400 with one line naming the parameter; any other failure answers HTTP
500 with one line, the traceback going to the server's log only. Never a stack trace or a server path in
the response.

A process keeps the model it loaded last (keyed by the artifact's content): Spark's ``spark_udf`` in local
mode loads the model again for every task (from a fresh download for every UDF), and each fresh booster
would rebuild its TreeSHAP tables, so a Python worker that scores many partitions reads and prepares the
model once. Every answer carries a ``whatif_<family>`` column for each family the model offers a what-if
for (missing where not computed), as its signature says (:func:`kamrisk._predict.predict_frame`).
"""

from __future__ import annotations

import logging
import os

import mlflow.pyfunc
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

__all__ = ["KamriskPyfunc", "RequestError"]

_log = logging.getLogger("kamrisk.serving")


class RequestError(MlflowException):
    """An error answered to a REST client as-is: one line, no stack trace.

    MLflow's scoring server rewrites the message of an ``MlflowException`` raised by ``predict`` to
    ``"Failed to predict data '<the whole input frame>'. Error: ..."``; this one keeps its first message.
    """

    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_message"):
            self._message = value


_LOADED: dict[str, object] = {}  # sha256 of the artifact -> TrainedModel, per process


def _load_trained(path: str):
    """The TrainedModel in ``path``, read once per process; a shallow copy, so that setting its
    ``model_version`` does not reach other loads, while the booster (and its TreeSHAP tables) is shared."""
    import copy
    import hashlib

    from ._trained import TrainedModel

    with open(path, "rb") as handle:
        key = hashlib.file_digest(handle, "sha256").hexdigest()
    if key not in _LOADED:
        _LOADED.clear()  # one model per process is the common case: never hold on to old ones
        _LOADED[key] = TrainedModel.load(path)
    return copy.copy(_LOADED[key])


class KamriskPyfunc(mlflow.pyfunc.PythonModel):
    """Scores feature rows with the :class:`~kamrisk.TrainedModel` in the ``trained_model`` artifact."""

    def load_context(self, context):
        self.trained = _load_trained(context.artifacts["trained_model"])
        self._warm_up()

    def _warm_up(self) -> None:
        """Score one training row once at load, so the first request does not pay for compiling the
        TreeSHAP kernel and building its tables (a second or more)."""
        sample = self.trained.training_sample
        if sample is None or not len(sample):
            return
        try:
            self.trained.predict_frame(sample.head(1).reset_index())
        except Exception:  # noqa: BLE001 - a warm-up only; a real request reports its own error
            _log.warning("kamrisk: warm-up prediction failed", exc_info=True)

    def predict(self, context, model_input, params=None):
        from ._errors import KamriskError

        params = params or {}
        try:
            out = self.trained.predict_frame(model_input, lang=params.get("lang", "en"),
                                             reasons=params.get("reasons", "all"))
        except KamriskError as exc:
            raise RequestError(" ".join(str(exc).split()), error_code=INVALID_PARAMETER_VALUE) from None
        except Exception as exc:  # noqa: BLE001 - a bug: its traceback belongs in the server log
            _log.exception("kamrisk: scoring a request failed")
            raise RequestError(f"kamrisk could not score the request ({type(exc).__name__}); the details are "
                               "in the server's log.", error_code=INTERNAL_ERROR) from None
        if os.environ.get("_MLFLOW_IS_IN_SERVING_ENVIRONMENT") == "true":  # set by `mlflow models serve`
            # JSON has no NaN: a missing risk (an unscorable row) is answered as null
            for column in out.columns[out.dtypes == "float64"]:
                if out[column].isna().any():
                    out[column] = out[column].astype(object).where(out[column].notna(), None)
        return out
