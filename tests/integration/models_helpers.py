"""Small models of each flavor, how each is logged, fed and compared.

The classifiers are trained on the wine data in well under a second; the deep-learning
models (torch, Keras on the torch backend, a TensorFlow module, a transformers pipeline
with a tokenizer built here) keep their random initial weights: the tests compare what
a loaded or served model answers with what the model itself answers, not accuracy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Keras reads its backend once, at import: Keras models here run on torch (TensorFlow is
# installed too, for the tensorflow flavor, and would otherwise be Keras' default).
os.environ.setdefault("KERAS_BACKEND", "torch")

TEXTS = ["the movie was good", "a bad film", "awful", "great fine movie"]


def wine() -> tuple[Any, Any]:
    """The wine data as a DataFrame (column names without '/') and its labels."""
    import pandas as pd
    from sklearn.datasets import load_wine  # type: ignore[import-untyped]

    data = load_wine()
    names = [n.replace("/", "_") for n in data.feature_names]
    return pd.DataFrame(data.data, columns=names), data.target


def sklearn_model(x: Any, y: Any) -> Any:
    """A logistic regression on scaled inputs (saved as skops, MLflow's default)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(x, y)


@dataclass(frozen=True)
class Case:
    """One flavor's model, how it is logged, what it takes and what it answers itself.

    Attributes:
        model: the flavor's own object.
        inputs: what the model's pyfunc ``predict`` takes.
        expected: the model's own answer on ``inputs``, as :func:`rows`.
        log_kwargs: for ``log_model`` (input example or signature, requirements).
        body: the same inputs as an ``/invocations`` JSON body.
        native: what the flavor's own ``load_model`` returns (a base class of it).
    """

    model: Any
    inputs: Any
    expected: Any
    log_kwargs: dict[str, Any]
    body: dict[str, Any]
    native: type


def _frame_case(model: Any, x: Any, requirements: list[str]) -> Case:
    split = x.head(3).to_dict(orient="split")
    return Case(
        model,
        x,
        rows(model.predict(x)),
        {"input_example": x.head(3), "pip_requirements": requirements},
        {"dataframe_split": {"columns": split["columns"], "data": split["data"]}},
        type(model),
    )


def _tensor_case(
    model: Any, native: type, x: Any, expected: Any, requirements: list[str], **kw: Any
) -> Case:
    return Case(
        model,
        x,
        rows(expected),
        {"pip_requirements": requirements, **kw},
        {"inputs": x[:3].tolist()},
        native,
    )


def sklearn_case() -> Case:
    """scikit-learn, on the wine DataFrame."""
    x, y = wine()
    return _frame_case(sklearn_model(x, y), x, ["scikit-learn", "skops"])


def xgboost_case() -> Case:
    """A small XGBoost classifier."""
    import xgboost

    x, y = wine()
    return _frame_case(xgboost.XGBClassifier(n_estimators=8, max_depth=3).fit(x, y), x, ["xgboost"])


def lightgbm_case() -> Case:
    """A small LightGBM classifier."""
    import lightgbm

    x, y = wine()
    return _frame_case(
        lightgbm.LGBMClassifier(n_estimators=8, verbose=-1).fit(x, y), x, ["lightgbm"]
    )


def onnx_case() -> Case:
    """The scikit-learn model converted to ONNX (float inputs in one tensor)."""
    import onnxruntime  # type: ignore[import-untyped]
    from skl2onnx import to_onnx  # type: ignore[import-untyped]

    x, y = wine()
    floats = x.to_numpy(dtype=np.float32)
    model = to_onnx(sklearn_model(floats, y), floats[:1], target_opset=17)
    session = onnxruntime.InferenceSession(model.SerializeToString())
    labels = session.run(None, {session.get_inputs()[0].name: floats})[0]
    return _tensor_case(
        model, type(model), floats, labels, ["onnx", "onnxruntime"], input_example=floats[:3]
    )


def pytorch_case() -> Case:
    """A torch MLP; MLflow saves it as torch.export's pt2, traced on the input example."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(13, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    x = wine()[0].to_numpy(dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    # Loaded back as torch.export's module, not the Sequential.
    return _tensor_case(net, torch.nn.Module, x, expected, ["torch"], input_example=x[:3])


def keras_case() -> Case:
    """A Keras 3 model on the torch backend (no TensorFlow involved)."""
    import keras
    from mlflow.models import infer_signature

    assert keras.backend.backend() == "torch"
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((13,)), keras.layers.Dense(3, activation="softmax")])
    x = wine()[0].to_numpy(dtype=np.float32)
    expected = model.predict(x, verbose=0)
    return _tensor_case(
        model,
        keras.Model,
        x,
        expected,
        ["keras", "torch"],
        signature=infer_signature(x[:3], expected[:3]),
        input_example=x[:3],
    )


def tensorflow_case() -> Case:
    """A TensorFlow 2 module (``tf.Module`` with a traced ``__call__``)."""
    import tensorflow as tf
    from mlflow.models import infer_signature

    class Scorer(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.random.stateless_normal([13, 3], seed=[1, 2]) / 100.0)

        @tf.function(input_signature=[tf.TensorSpec([None, 13], tf.float32)])  # type: ignore[misc]
        def __call__(self, x: Any) -> Any:
            return tf.nn.softmax(tf.matmul(x, self.w))

    model = Scorer()
    x = wine()[0].to_numpy(dtype=np.float32)
    expected = model(x).numpy()
    # Loaded back as a SavedModel object (tf.saved_model.load), not the Scorer class.
    native = tf.__internal__.tracking.AutoTrackable
    return _tensor_case(
        model,
        native,
        x,
        expected,
        ["tensorflow-cpu"],
        signature=infer_signature(x[:3], expected[:3]),
    )


def tiny_text_classifier() -> Any:
    """A text-classification pipeline: a one-layer BERT and a word-level tokenizer built here."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        PreTrainedTokenizerFast,
        pipeline,
    )

    words = sorted({w for text in TEXTS for w in text.split()} | {"poor", "is"})
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        initializer_range=1.0,
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    model = BertForSequenceClassification(config).eval()
    return pipeline("text-classification", model=model, tokenizer=fast)


def transformers_case() -> Case:
    """The tiny text classifier; MLflow's pyfunc answers a DataFrame of label and score."""
    import pandas as pd
    import transformers

    pipe = tiny_text_classifier()
    expected = rows(pd.DataFrame(pipe(TEXTS)))
    return Case(
        pipe,
        TEXTS,
        expected,
        {"input_example": TEXTS[:2], "pip_requirements": ["transformers", "tokenizers", "torch"]},
        {"inputs": TEXTS},
        transformers.Pipeline,
    )


CASES: dict[str, Callable[[], Case]] = {
    "sklearn": sklearn_case,
    "xgboost": xgboost_case,
    "lightgbm": lightgbm_case,
    "onnx": onnx_case,
    "pytorch": pytorch_case,
    "keras": keras_case,
    "tensorflow": tensorflow_case,
    "transformers": transformers_case,
}


def rows(predictions: Any) -> Any:
    """Predictions as a 2-D array, from a flavor's pyfunc or from a served JSON answer.

    ONNX answers one array per output (labels first); a DataFrame or a served list of
    records is taken column by column.
    """
    import pandas as pd

    if isinstance(predictions, dict):
        predictions = next(iter(predictions.values()))
    if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict):
        predictions = pd.DataFrame(predictions)
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_numpy()
    array = np.asarray(predictions)
    return array.reshape(len(array), -1)


def assert_same(got: Any, want: Any, what: str) -> None:
    """Same shape; text columns equal, numeric ones equal to float32 precision."""
    assert got.shape == want.shape, (what, got.shape, want.shape)
    for column in range(want.shape[1]):
        a, b = got[:, column], want[:, column]
        if isinstance(b[0], str):
            assert list(a) == list(b), (what, column)
        else:
            np.testing.assert_allclose(
                a.astype(float), b.astype(float), rtol=1e-4, atol=1e-6, err_msg=what
            )
