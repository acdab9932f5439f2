"""The scikit-learn estimators both models use, built in one place (imported lazily).

Every fit and prediction runs on one OpenMP thread (``one_thread``): on a busy 2-core
machine scikit-learn's default of a thread per core made fitting 25 times slower (measured:
48 s instead of 2 s for one quantile model), and a server process has better use for its cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]


_CONTROLLER: list[Any] = []


@contextmanager
def one_thread() -> Iterator[None]:
    """OpenMP limited to one thread; the controller is made once (finding the libraries
    costs 5 ms, more than a prediction)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=1, user_api="openmp"):
        yield


@dataclass(frozen=True)
class ConstantProbability:
    """The answer when the training labels were all alike (a tiny history): their rate."""

    rate: float

    def probability(self, features: Matrix) -> NDArray[np.float64]:
        return np.full(len(features), self.rate)


@dataclass(frozen=True)
class BoostedProbability:
    model: Any  # a fitted HistGradientBoostingClassifier

    def probability(self, features: Matrix) -> NDArray[np.float64]:
        if len(features) == 0:
            return np.zeros(0)
        with one_thread():
            proba: NDArray[np.float64] = self.model.predict_proba(features)[:, 1]
        return proba


Probability = ConstantProbability | BoostedProbability


def _trainable(features: Matrix) -> Matrix:
    """The features with every all-missing column set to 0: the trees cannot bin a column
    without one value (stars nobody entered), and a constant is never split on, so the
    predictions ignore that column whatever it holds later."""
    empty = np.isnan(features).all(axis=0)
    if not empty.any():
        return features
    filled = features.copy()
    filled[:, empty] = 0.0
    return filled


def fit_probability(
    features: Matrix, labels: NDArray[np.float64], categorical: list[int]
) -> Probability:
    """P(label = 1 | features) by gradient-boosted trees; a constant if there is one class."""
    if len(labels) == 0:
        return ConstantProbability(0.5)
    if labels.min() == labels.max():
        return ConstantProbability(float(labels[0]))
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        categorical_features=categorical or None,
        learning_rate=0.08,
        max_iter=300,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=len(labels) >= 2000,
        random_state=0,
    )
    with one_thread():
        model.fit(_trainable(features), labels)
    return BoostedProbability(model)


def fit_quantile(
    features: Matrix, target: NDArray[np.float64], quantile: float, categorical: list[int]
) -> Any:
    """A regressor of the ``quantile`` of ``target`` given the features (pinball loss)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        categorical_features=categorical or None,
        learning_rate=0.08,
        max_iter=300,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        early_stopping=len(target) >= 2000,
        random_state=0,
    )
    with one_thread():
        model.fit(_trainable(features), target)
    return model


def auc(labels: NDArray[np.float64], scores: NDArray[np.float64]) -> float | None:
    """Area under the ROC curve, or None when the labels hold one class only."""
    if len(labels) == 0 or labels.min() == labels.max():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))
