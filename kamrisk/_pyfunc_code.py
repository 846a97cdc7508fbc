"""Models-from-code entry point MLflow runs when it loads a kamrisk model."""

from mlflow.models import set_model

from kamrisk._pyfunc import KamriskPyfunc

set_model(KamriskPyfunc())
