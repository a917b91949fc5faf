"""Masked forecasting metrics (missing targets, NaN or zero, are ignored)."""

import numpy as np

# Horizons reported, in steps of 5 minutes: 15, 30 and 60 minutes ahead.
HORIZONS = (3, 6, 12)


def masked_errors(prediction, target):
    """MAE, RMSE and MAPE (%) over the observed targets.

    Args:
        prediction: array of forecasts.
        target: array of the same shape; NaN or 0 marks a missing reading.

    Returns:
        A dict with `mae`, `rmse` and `mape` (NaN if nothing is observed).
    """
    prediction = np.asarray(prediction, dtype="float64")
    target = np.asarray(target, dtype="float64")
    if prediction.shape != target.shape:
        raise ValueError(
            f"prediction.shape={prediction.shape} does not match "
            f"target.shape={target.shape}."
        )
    observed = np.isfinite(target) & (target != 0)
    if not observed.any():
        return {"mae": float("nan"), "rmse": float("nan"), "mape": float("nan")}
    error = prediction[observed] - target[observed]
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(np.mean(np.abs(error) / np.abs(target[observed])) * 100),
    }


def horizon_report(prediction, target, horizons=HORIZONS):
    """Masked errors at each horizon and averaged over all output steps.

    Args:
        prediction: `(samples, steps, sensors)` forecasts.
        target: `(samples, steps, sensors)` readings.
        horizons: 1-based step counts to report.

    Returns:
        A dict `{"15min": {...}, ..., "average": {...}}` (5-minute steps).
    """
    report = {
        f"{h * 5}min": masked_errors(prediction[:, h - 1], target[:, h - 1])
        for h in horizons
    }
    report["average"] = masked_errors(prediction, target)
    return report
