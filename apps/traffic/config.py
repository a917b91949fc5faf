"""Settings of a traffic run (model, protocol, training)."""

import dataclasses
import typing

from attention_suite.apps.common.training.config import (
    check_settings,
    invalid_setting,
    setting,
)
from attention_suite.apps.traffic.readers import MISSING_RULES

MODELS = ("attention", "gru")
# The training losses (`attention_suite.apps.traffic.model.MaskedError`).
LOSSES = ("mae", "mse", "huber")


@dataclasses.dataclass
class TrafficConfig:
    """Everything a traffic run depends on; saved as `config.json`.

    Protocol: a chronological `split` (train/val/test fractions), z-score
    statistics fitted on train only, `input_steps` in, `output_steps` out,
    errors reported at `horizons` (minutes ahead, multiples of the series'
    step within the forecast), readings that are `missing` left out.
    """

    # A finished run resumed with `gru_baseline` turned on trains the
    # baseline it left out (`attention_suite.apps.common.training.runs`).
    RESUME_ADDS: typing.ClassVar = ("gru_baseline",)

    dataset: str = "los_loop"
    split: tuple = (0.7, 0.1, 0.2)
    input_steps: int = setting(12, minimum=1)
    output_steps: int = setting(12, minimum=1)
    # Minutes ahead to report; "auto": about 15, 30 and 60 minutes, rounded
    # to the series' step (`auto_horizons`), resolved when training.
    horizons: typing.Union[tuple, str] = "auto"
    # Which readings are missing: zeros and NaN (METR-LA's convention) or
    # only NaN (where a zero is a real reading, as in flow or taxi data).
    missing: str = setting("zero-and-nan", choices=MISSING_RULES)
    # The attention forecaster ("attention") or the GRU baseline ("gru").
    model: str = setting("attention", choices=MODELS)
    # The widths of the reading's, the time of day's, the day of the week's
    # and the learned per-step-and-sensor embeddings, concatenated; 0 leaves
    # that embedding out (the model then reads only the speeds and the
    # graph when both time widths are 0, as the T-GCN family does).
    input_dim: int = setting(16, minimum=1)
    time_of_day_dim: int = setting(16, minimum=0)
    day_of_week_dim: int = setting(8, minimum=0)
    adaptive_dim: int = setting(24, minimum=0)
    num_heads: int = setting(4, minimum=1)
    num_layers: int = setting(2, minimum=1)
    feedforward_dim: int = setting(128, minimum=1)
    dropout: float = setting(0.1, minimum=0, below=1)
    # Feed each node's normalized readings to the attention model's head
    # too (a skip connection past the attention blocks).
    history_skip: bool = False
    # Restrict spatial attention to road-graph neighbours (plus self).
    use_graph_mask: bool = False
    # With the attention model, also train the GRU baseline (in the run's
    # `gru_baseline/`) so that every report has a reference; false while
    # candidates for a setting are compared on validation.
    gru_baseline: bool = True
    gru_units: int = setting(64, minimum=1)
    batch_size: int = setting(16, minimum=1)
    epochs: int = setting(60, minimum=1)
    learning_rate: float = setting(1e-3, above=0)
    # The error each model minimizes over the observed targets: absolute
    # ("mae", what the metrics lead with), squared ("mse", what RMSE
    # rewards) or Huber's, squared below `huber_delta` (in the readings'
    # units) and absolute above.
    loss: str = setting("mae", choices=LOSSES)
    huber_delta: float = setting(1.0, above=0)
    # Halve the learning rate after this many epochs without a better
    # validation loss (0: a constant rate).
    reduce_lr_patience: int = setting(0, minimum=0)
    patience: int = setting(10, minimum=0)
    max_minutes: float = setting(30.0, above=0)
    seed: int = setting(7, minimum=0)

    def __post_init__(self):
        check_settings(self)
        self.split = check_split(self.split)
        self.horizons = check_horizons(self.horizons)

    def auto_horizons(self, step_minutes):
        """The horizons "auto" stands for, for a series' step length.

        About 15, 30 and 60 minutes ahead, each rounded to a whole number
        of steps (at least one) within the `output_steps` of the forecast.

        Args:
            step_minutes: minutes between the series' rows.

        Returns:
            A tuple of increasing whole minutes.
        """
        steps = {
            min(max(1, round(minutes / step_minutes)), self.output_steps)
            for minutes in (15, 30, 60)
        }
        return tuple(int(s * step_minutes) for s in sorted(steps))

    def horizon_steps(self, step_minutes):
        """The forecast step of each horizon, for a series' step length.

        Args:
            step_minutes: minutes between the series' rows.

        Returns:
            A tuple of 1-based forecast steps, one per horizon.

        Raises:
            ValueError: a horizon is not a whole number of steps, or lies
                beyond the `output_steps` of the forecast.
        """
        horizons = (
            self.auto_horizons(step_minutes)
            if self.horizons == "auto"
            else self.horizons
        )
        steps = tuple(minutes / step_minutes for minutes in horizons)
        reach = self.output_steps * step_minutes
        if any(s != int(s) for s in steps) or max(steps) > self.output_steps:
            raise invalid_setting(
                "horizons",
                list(horizons),
                f"multiples of the series' {step_minutes:g}-minute step up "
                f"to the {reach:g} minutes of output_steps="
                f"{self.output_steps}",
            )
        return tuple(int(s) for s in steps)


def check_split(fractions):
    """Checks the fractions of a chronological split.

    Args:
        fractions: the train, validation and test fractions.

    Returns:
        The fractions, a tuple of three floats.

    Raises:
        ValueError: they are not three positive numbers summing to 1.
    """
    numbers = all(
        isinstance(f, (int, float)) and not isinstance(f, bool)
        for f in fractions
    )
    if (
        len(fractions) != 3
        or not numbers
        or min(fractions) <= 0
        or abs(sum(fractions) - 1) > 1e-6
    ):
        raise invalid_setting(
            "split", list(fractions), "three positive fractions summing to 1"
        )
    return tuple(float(f) for f in fractions)


def check_horizons(minutes):
    """Checks the horizons to report, in minutes ahead.

    Args:
        minutes: the horizons, or `"auto"`.

    Returns:
        The horizons, a tuple of positive integers, or `"auto"`.

    Raises:
        ValueError: they are not increasing positive integers.
    """
    if minutes == "auto":
        return minutes
    integers = not isinstance(minutes, str) and all(
        isinstance(m, int) and not isinstance(m, bool) for m in minutes
    )
    if (
        not integers
        or not minutes
        or not integers
        or min(minutes) <= 0
        or list(minutes) != sorted(set(minutes))
    ):
        raise invalid_setting(
            "horizons",
            list(minutes),
            '"auto" or increasing positive whole minutes, e.g. [15, 30, 60]',
        )
    return tuple(minutes)
