"""``runstream.keras``: the Keras 3 flavor, MLflow's ``mlflow.keras``.

``save_model`` is MLflow's; ``log_model`` saves with it, uploads the folder and
publishes ``model.logged``; ``load_model`` takes every URI Runstream resolves.
Needs ``runstream[models]`` and the ``keras`` package, imported on first use.
"""

from runstream.sdk.flavors import Flavor

FLAVOR = Flavor("mlflow.keras", "model", package="keras")
log_model = FLAVOR.log_model
save_model = FLAVOR.save_model
load_model = FLAVOR.load_model

__all__ = ["FLAVOR", "load_model", "log_model", "save_model"]
