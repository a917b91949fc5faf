"""The forecasting protocol: split, statistics, windows, metrics, baselines,
loss, and the bad inputs of `predict`."""

import numpy as np
import pandas as pd
import pytest
from helpers import to_numpy

from attention_suite.apps.traffic import (
    baselines,
    data,
    evaluation,
    infer,
    metrics,
)
from attention_suite.apps.traffic.config import TrafficConfig
from attention_suite.apps.traffic.model import MaskedError
from attention_suite.apps.traffic.synthetic import demo_series


@pytest.fixture
def series():
    return demo_series(num_sensors=4, days=2, seed=3)[0]


def test_split_is_chronological_without_overlap(series):
    parts = data.chronological_split(series, (0.7, 0.1, 0.2), 24)
    assert sum(len(p) for p in parts.values()) == len(series)
    assert parts["train"].index.max() < parts["val"].index.min()
    assert parts["val"].index.max() < parts["test"].index.min()
    assert len(parts["train"]) == int(0.7 * len(series))


def test_split_tests_on_the_tgcn_test_part():
    # T-GCN tests from `int(0.8 * n)`: step 1,612 of Los-loop's 2,016.
    frame = pd.DataFrame(
        {"a": np.arange(2016.0)},
        index=pd.date_range("2012-03-01", periods=2016, freq="5min"),
    )
    parts = data.chronological_split(frame, (0.7, 0.1, 0.2), 24)
    assert [len(p) for p in parts.values()] == [1411, 201, 404]
    assert parts["test"]["a"].iloc[0] == int(0.8 * 2016)


@pytest.mark.parametrize(
    "fractions, message",
    [((0.5, 0.5), "three positive"), ((0.8, 0.1, 0.2), "summing to 1")],
)
def test_split_rejects_bad_fractions(series, fractions, message):
    with pytest.raises(ValueError, match=message):
        data.chronological_split(series, fractions, 24)


def test_split_rejects_parts_shorter_than_a_window(series):
    with pytest.raises(ValueError, match="a window needs 400"):
        data.chronological_split(series, (0.7, 0.1, 0.2), 400)


def test_statistics_come_from_train_only(series):
    parts = data.chronological_split(series, (0.7, 0.1, 0.2), 24)
    before = data.train_statistics(parts["train"])
    changed = series.copy()
    changed.iloc[len(parts["train"]) :] += 100.0
    parts_changed = data.chronological_split(changed, (0.7, 0.1, 0.2), 24)
    assert data.train_statistics(parts_changed["train"]) == before
    train = parts["train"].to_numpy()
    observed = train[train != 0]
    np.testing.assert_allclose(
        before, (observed.mean(), observed.std()), rtol=1e-5
    )


@pytest.mark.parametrize("outlier", [1e6, 1e21, -1e30])
def test_one_faulty_reading_moves_no_statistic(series, outlier):
    train = series.iloc[:400]
    before = data.train_statistics(train)
    faulty = train.copy()
    faulty.iloc[17, 2] = outlier
    # One reading fewer; the statistics barely move.
    np.testing.assert_allclose(data.train_statistics(faulty), before, rtol=1e-2)
    cleaned = data.without_outliers(faulty, *before)
    assert np.isnan(cleaned.iloc[17, 2])
    assert cleaned.isna().sum().sum() == faulty.isna().sum().sum() + 1


def test_windows_are_contiguous_history_then_target(series):
    windows = data.make_windows(series.iloc[:40], 12, 12)
    assert windows["history"].shape == (17, 12, 4)
    assert windows["target"].shape == (17, 12, 4)
    values = data.as_float_with_nan(series.iloc[:40])
    np.testing.assert_array_equal(windows["history"][5], values[5:17])
    np.testing.assert_array_equal(windows["target"][5], values[17:29])
    assert windows["target_time"][5][0] == series.index[17]
    np.testing.assert_allclose(windows["time_of_day"][0, 1], 5 / 1440)
    assert windows["day_of_week"][0, 0] == series.index[0].dayofweek


def test_missing_readings_become_nan():
    frame = pd.DataFrame({"a": [0.0, 50.0, np.nan]})
    np.testing.assert_array_equal(
        np.isnan(data.as_float_with_nan(frame)[:, 0]), [True, False, True]
    )
    np.testing.assert_array_equal(
        np.isnan(data.as_float_with_nan(frame, "nan")[:, 0]),
        [False, False, True],
    )


def test_masked_errors_by_hand():
    target = np.array([[10.0, 0.0], [20.0, np.nan]])
    prediction = np.array([[12.0, 99.0], [17.0, 99.0]])
    errors = metrics.masked_errors(prediction, target)
    assert errors["mae"] == pytest.approx(2.5)
    assert errors["rmse"] == pytest.approx(np.sqrt((4 + 9) / 2))
    assert errors["mape"] == pytest.approx((0.2 + 0.15) / 2 * 100)
    # Where a zero is a reading, it counts (but has no percentage error).
    errors = metrics.masked_errors(prediction, target, missing="nan")
    assert errors["mae"] == pytest.approx((2 + 99 + 3) / 3)
    assert errors["mape"] == pytest.approx((0.2 + 0.15) / 2 * 100)
    assert errors["mape_skipped"] == 1


def test_mape_skips_targets_near_zero_and_says_so():
    # Taxi speeds where no taxi was seen: tiny readings, not missing ones.
    target = np.array([30.0, 40.0, 1e-12, 0.0, 50.0])
    prediction = np.array([33.0, 36.0, 5.0, 5.0, 50.0])
    errors = metrics.masked_errors(prediction, target, missing="nan")
    assert errors["mape"] == pytest.approx((0.1 + 0.1 + 0.0) / 3 * 100)
    assert errors["mape_skipped"] == 2
    table = evaluation.format_report({"attention": {"average": errors}})
    assert "MAPE leaves out 2 target(s) at or near zero" in table
    assert "mape_skipped" not in table


def test_horizon_report_picks_the_right_steps():
    target = np.ones((2, 12, 3))
    prediction = np.ones((2, 12, 3))
    prediction[:, 2] += 1.0  # step 3 = 15 minutes
    report = metrics.horizon_report(prediction, target, (3, 6, 12), 5)
    assert report["15min"]["mae"] == 1.0
    assert report["30min"]["mae"] == report["60min"]["mae"] == 0.0
    assert report["average"]["mae"] == pytest.approx(1 / 12)
    # 15-minute steps, 4 out: step 1 is 15 minutes, step 4 an hour.
    report = metrics.horizon_report(
        prediction[:, :4], target[:, :4], (1, 4), 15
    )
    assert list(report) == ["15min", "60min", "average"]
    assert report["15min"]["mae"] == 0.0


@pytest.mark.parametrize(
    "settings, step, steps",
    [
        ({}, 5, (3, 6, 12)),
        ({}, 10, (2, 3, 6)),
        ({}, 60, (1,)),
        ({"output_steps": 4}, 5, (3, 4)),
        ({"output_steps": 4}, 15, (1, 2, 4)),
        ({"horizons": [10, 20], "output_steps": 2}, 10, (1, 2)),
        ({"horizons": [60], "output_steps": 1}, 60, (1,)),
    ],
)
def test_horizons_in_minutes_become_steps(settings, step, steps):
    assert TrafficConfig(**settings).horizon_steps(step) == steps


@pytest.mark.parametrize(
    "settings, step, message",
    [
        (
            {"horizons": [15, 30, 60]},
            10,
            r"horizons=\[15, 30, 60\]: expected multiples of the series' "
            r"10-minute step",
        ),
        (
            {"horizons": [15, 30, 60], "output_steps": 4},
            5,
            r"up to the 20 minutes of output_steps=4",
        ),
        ({"horizons": [30, 15]}, 5, "increasing positive whole minutes"),
        ({"horizons": [0]}, 5, "increasing positive whole minutes"),
    ],
)
def test_horizons_that_do_not_fit_the_forecast(settings, step, message):
    with pytest.raises(ValueError, match=message):
        TrafficConfig(**settings).horizon_steps(step)


def test_pooled_errors_by_hand():
    target = np.array([[10.0, 0.0], [20.0, 30.0]])
    prediction = np.array([[12.0, 1.0], [17.0, 30.0]])
    errors = metrics.pooled_errors(prediction, target)
    error = prediction - target
    assert errors["rmse"] == pytest.approx(np.sqrt(np.mean(error**2)))
    assert errors["mae"] == pytest.approx(1.5)  # the zero counts
    assert errors["accuracy"] == pytest.approx(1 - np.sqrt(14) / np.sqrt(1400))
    assert errors["r2"] == pytest.approx(1 - 14 / np.sum((target - 15) ** 2))


def test_input_mean_iterates_the_window_forward():
    history = np.array([[[1.0], [2.0], [3.0]]])
    forecast = baselines.input_mean(history, 3)
    first = 2.0
    second = (2 + 3 + first) / 3
    third = (3 + first + second) / 3
    np.testing.assert_allclose(forecast[0, :, 0], [first, second, third])


def test_masked_errors_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="does not match"):
        metrics.masked_errors(np.ones((2, 3)), np.ones((3, 2)))


def test_last_value_uses_the_last_observed_reading():
    history = np.array([[[1.0, 5.0], [2.0, np.nan], [np.nan, np.nan]]])
    forecast = baselines.last_value(history, 4)
    assert forecast.shape == (1, 4, 2)
    np.testing.assert_array_equal(forecast[0, :, 0], 2.0)
    np.testing.assert_array_equal(forecast[0, :, 1], 5.0)


def test_historical_average_is_per_time_of_day(series):
    average = baselines.HistoricalAverage(series)
    target_time = np.array([[series.index[3], series.index[3 + 288]]])
    forecast = average.predict(target_time)
    values = data.as_float_with_nan(series)
    expected = np.nanmean(values[[3, 3 + 288]], axis=0)
    np.testing.assert_allclose(forecast[0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(forecast[0, 1], expected, rtol=1e-6)


@pytest.mark.parametrize(
    "kind,missing,expected",
    [
        ("mae", "zero-and-nan", (1 + 2) / 2),
        ("mae", "nan", (1 + 50 + 2) / 3),
        ("mse", "zero-and-nan", (1 + 4) / 2),
        ("mse", "nan", (1 + 2500 + 4) / 3),
        # delta 1.5: 0.5 * 1 ** 2 below it, 1.5 * (2 - 0.75) above.
        ("huber", "zero-and-nan", (0.5 + 1.875) / 2),
    ],
)
def test_masked_error_ignores_missing_targets(kind, missing, expected):
    y_true = np.array([[10.0, 0.0, np.nan, 20.0]], "float32")
    y_pred = np.array([[11.0, 50.0, 50.0, 18.0]], "float32")
    loss = MaskedError(kind, missing, delta=1.5)
    assert float(to_numpy(loss(y_true, y_pred))) == pytest.approx(expected)
    again = MaskedError.from_config(loss.get_config())
    assert float(to_numpy(again(y_true, y_pred))) == pytest.approx(expected)


def test_history_inputs_name_the_problem(series):
    sensors = list(series.columns)
    with pytest.raises(ValueError, match="has 5 steps; the model needs"):
        infer.history_inputs(series.iloc[:5], sensors, 12)
    with pytest.raises(
        ValueError, match="has 3 sensors but the model was trained on 4"
    ):
        infer.history_inputs(series.iloc[:, :3], sensors, 12)
    blank = series.copy()
    blank.iloc[-12:] = np.nan
    with pytest.raises(ValueError, match="hold no reading"):
        infer.history_inputs(blank, sensors, 12)
    blank.iloc[-12:] = 0.0
    with pytest.raises(ValueError, match="zero-and-nan"):
        infer.history_inputs(blank, sensors, 12)
    inputs, last = infer.history_inputs(series[sensors[::-1]], sensors, 12)
    np.testing.assert_array_equal(
        inputs["history"][0], data.as_float_with_nan(series.iloc[-12:])
    )
    assert last == series.index[-1]


def test_forecast_plot_leaves_missing_readings_blank(series):
    import matplotlib

    matplotlib.use("Agg")
    history = series.iloc[:12].copy()
    sensor = history.columns[0]
    history.iloc[3, 0], history.iloc[5, 0] = 0.0, np.nan
    forecast = series.iloc[12:15]
    figure = infer.plot_forecast(history, forecast, [sensor], actual=forecast)
    drawn = figure.axes[0].lines[0].get_ydata()
    assert np.isnan(drawn[3]) and np.isnan(drawn[5])
    np.testing.assert_allclose(drawn[:3], history[sensor].iloc[:3])
    # Where a zero is a reading, it is drawn.
    figure = infer.plot_forecast(history, forecast, [sensor], missing="nan")
    drawn = figure.axes[0].lines[0].get_ydata()
    assert drawn[3] == 0.0 and np.isnan(drawn[5])


# A small attention forecaster's settings.
SMALL_MODEL = dict(
    input_dim=4,
    time_of_day_dim=2,
    day_of_week_dim=2,
    adaptive_dim=2,
    num_heads=1,
    num_layers=1,
    feedforward_dim=8,
)


def test_history_skip_lets_the_head_see_the_readings():
    from attention_suite.apps.traffic.model import build_attention_forecaster

    history = np.full((1, 12, 3), 50.0, "float32")
    inputs = {
        "history": history,
        "time_of_day": np.zeros((1, 12), "float32"),
        "day_of_week": np.zeros((1, 12), "int32"),
    }
    for skip, extra in ((True, 12), (False, 0)):
        model = build_attention_forecaster(
            TrafficConfig(history_skip=skip, **SMALL_MODEL), 3, 50.0, 10.0
        )
        head = model.get_layer("head").kernel
        assert head.shape == (12 * 10 + extra, 12)
    # The skip's weights act on the readings alone: with the rest of the
    # head zeroed, the forecast moves with the last reading.
    model = build_attention_forecaster(
        TrafficConfig(history_skip=True, **SMALL_MODEL), 3, 50.0, 10.0
    )
    weights = np.zeros(model.get_layer("head").kernel.shape, "float32")
    weights[-1] = 1.0
    model.get_layer("head").kernel.assign(weights)
    model.get_layer("head").bias.assign(np.zeros(12, "float32"))
    moved = history.copy()
    moved[0, -1] = 60.0
    forecasts = [
        to_numpy(model(dict(inputs, history=h))) for h in (history, moved)
    ]
    np.testing.assert_allclose(forecasts[0], 50.0, atol=1e-4)
    np.testing.assert_allclose(forecasts[1], 60.0, atol=1e-4)


def test_time_widths_of_zero_read_only_the_speeds():
    from attention_suite.apps.traffic.model import build_attention_forecaster

    widths = ("time_of_day_dim", "day_of_week_dim", "adaptive_dim")
    config = TrafficConfig(**{**SMALL_MODEL, **dict.fromkeys(widths, 0)})
    model = build_attention_forecaster(config, 3, 50.0, 10.0)
    names = {layer.name for layer in model.layers}
    assert not names & {
        "time_of_day_embedding",
        "day_of_week_embedding",
        "adaptive_embedding",
    }
    rng = np.random.default_rng(0)
    history = rng.normal(50, 5, (2, 12, 3)).astype("float32")
    forecasts = [
        to_numpy(
            model(
                {
                    "history": history,
                    "time_of_day": np.full((2, 12), hour / 24, "float32"),
                    "day_of_week": np.full((2, 12), day, "int32"),
                }
            )
        )
        for hour, day in ((0, 0), (17, 4))
    ]
    np.testing.assert_array_equal(*forecasts)


def test_horizons_are_auto_or_minutes():
    with pytest.raises(ValueError, match='"auto" or increasing positive'):
        TrafficConfig(horizons="soon")


def test_a_list_setting_takes_commas_without_brackets():
    from attention_suite.apps.common.training.config import load_config

    config = load_config(
        TrafficConfig, overrides=["horizons=10,30,60", "split=0.6,0.2,0.2"]
    )
    assert config.horizons == (10, 30, 60)
    assert config.split == (0.6, 0.2, 0.2)
