"""Forecasting metrics.

`masked_errors` and `horizon_report` are the default protocol (DCRNN's):
missing targets are left out, and a horizon is the single forecast step
that far ahead. `pooled_errors` and `pooled_report` are the T-GCN papers':
nothing is masked, a horizon pools every step up to it, and their accuracy,
R² and explained variance come with RMSE and MAE.
"""

import numpy as np

from attention_suite.apps.traffic.readers import missing_mask


def _check_shapes(prediction, target):
    prediction = np.asarray(prediction, dtype="float64")
    target = np.asarray(target, dtype="float64")
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction.shape={prediction.shape} does not match "
            f"target.shape={target.shape}."
        )
    return prediction, target


# MAPE leaves out targets whose size is below this fraction of the mean
# observed size: a percentage of (nearly) nothing is not a forecast error.
MAPE_FLOOR = 0.01


def masked_errors(prediction, target, missing="zero-and-nan"):
    """MAE, RMSE and MAPE (%) over the observed targets.

    Args:
        prediction: array of forecasts.
        target: array of the same shape.
        missing: which targets are missing (`readers.missing_mask`); MAPE
            also leaves out targets at or near 0 (below `MAPE_FLOOR` of the
            mean observed size), where it is not defined or explodes.

    Returns:
        A dict with `mae`, `rmse` and `mape` (NaN if nothing is observed),
        and `mape_skipped`, the observed targets MAPE left out.
    """
    prediction, target = _check_shapes(prediction, target)
    observed = ~missing_mask(target, missing)
    if not observed.any():
        nan = float("nan")
        return {"mae": nan, "rmse": nan, "mape": nan, "mape_skipped": 0}
    error = prediction[observed] - target[observed]
    size = np.abs(target[observed])
    kept = size > MAPE_FLOOR * size.mean()
    mape = np.mean(np.abs(error[kept]) / size[kept]) if kept.any() else np.nan
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(mape * 100),
        "mape_skipped": int((~kept).sum()),
    }


def horizon_label(minutes):
    """How a horizon is named in reports: `"15min"`."""
    return f"{minutes:g}min"


def horizon_report(
    prediction, target, horizon_steps, step_minutes, missing="zero-and-nan"
):
    """Masked errors at each horizon and averaged over all output steps.

    Args:
        prediction: `(samples, steps, sensors)` forecasts.
        target: `(samples, steps, sensors)` readings.
        horizon_steps: 1-based forecast steps to report.
        step_minutes: minutes between steps, for the labels.
        missing: which targets are missing (`readers.missing_mask`).

    Returns:
        A dict `{"15min": {...}, ..., "average": {...}}`.
    """
    report = {
        horizon_label(h * step_minutes): masked_errors(
            prediction[:, h - 1], target[:, h - 1], missing
        )
        for h in horizon_steps
    }
    report["average"] = masked_errors(prediction, target, missing)
    return report


def pooled_errors(prediction, target):
    """The T-GCN code's metrics, over every finite target (zeros count).

    Args:
        prediction: array of forecasts.
        target: array of the same shape.

    Returns:
        A dict with `rmse`, `mae`, `accuracy` (`1 - |Y - F| / |Y|` with
        Frobenius norms), `r2` and `var` (explained variance).
    """
    prediction, target = _check_shapes(prediction, target)
    finite = np.isfinite(target)
    truth, error = target[finite], prediction[finite] - target[finite]
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "accuracy": float(1 - np.linalg.norm(error) / np.linalg.norm(truth)),
        "r2": float(1 - np.sum(error**2) / np.sum((truth - truth.mean()) ** 2)),
        "var": float(1 - np.var(error) / np.var(truth)),
    }


def pooled_report(predictions, targets, horizon_steps, step_minutes):
    """`pooled_errors` over all steps up to each horizon.

    Args:
        predictions: `{steps: (windows, steps, sensors) forecasts}`, one
            entry per horizon (the windows of a horizon differ, as the T-GCN
            code cuts them per forecast length).
        targets: the same for the readings.
        horizon_steps: the 1-based horizons, keys of both dicts.
        step_minutes: minutes between steps, for the labels.

    Returns:
        A dict `{"15min": {...}, ...}`.
    """
    return {
        horizon_label(h * step_minutes): pooled_errors(
            predictions[h], targets[h]
        )
        for h in horizon_steps
    }
