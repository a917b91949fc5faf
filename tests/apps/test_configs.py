"""Each app's config refuses a bad setting with one line that names it."""

import glob
import os
import subprocess
import sys

import pytest

from attention_suite import apps
from attention_suite.apps.common.training.config import load_config
from attention_suite.apps.qa.config import QAConfig
from attention_suite.apps.summarization.config import SummarizationConfig
from attention_suite.apps.traffic.config import TrafficConfig
from attention_suite.apps.translation.config import TranslationConfig

APPS_DIR = os.path.dirname(apps.__file__)
CONFIGS = {
    "translation": TranslationConfig,
    "summarization": SummarizationConfig,
    "qa": QAConfig,
    "traffic": TrafficConfig,
}
# Settings that break a rule of one app, and the message they give.
APP_RULES = [
    (
        TranslationConfig,
        ["embedding_dim=30", "num_heads=4"],
        "embedding_dim=30: expected a multiple of num_heads=4.",
    ),
    (
        SummarizationConfig,
        ["model=transformer", "embedding_dim=30", "num_heads=4"],
        "embedding_dim=30: expected a multiple of num_heads=4.",
    ),
    (
        QAConfig,
        ["window=48", "stride=64"],
        "stride=64: expected at most window=48 (no piece left unread).",
    ),
    (
        QAConfig,
        ["frozen_layers=2"],
        "frozen_layers=2: expected 0 with model=bidaf (only the encoder "
        "freezes layers).",
    ),
    (
        TrafficConfig,
        ["split=[0.7, 0.2, 0.2]"],
        "split=[0.7, 0.2, 0.2]: expected three positive fractions summing "
        "to 1.",
    ),
]


def _error(config_class, overrides):
    with pytest.raises(ValueError) as error:
        load_config(config_class, None, overrides)
    return str(error.value)


@pytest.mark.parametrize("config_class", CONFIGS.values())
def test_a_value_of_another_type(config_class):
    assert _error(config_class, ["batch_size=abc"]) == (
        "Invalid setting batch_size=abc: expected an integer >= 1."
    )
    assert _error(config_class, ["learning_rate=fast"]) == (
        "Invalid setting learning_rate=fast: expected a number > 0."
    )


@pytest.mark.parametrize("config_class", CONFIGS.values())
def test_a_value_out_of_range(config_class):
    assert _error(config_class, ["batch_size=0"]) == (
        "Invalid setting batch_size=0: expected an integer >= 1."
    )
    assert _error(config_class, ["dropout=1"]) == (
        "Invalid setting dropout=1: expected a number >= 0 and < 1."
    )


@pytest.mark.parametrize("config_class", CONFIGS.values())
def test_an_unknown_setting(config_class):
    message = _error(config_class, ["batch_sise=8"])
    assert message.startswith(
        f"Unknown setting(s) ['batch_sise'] for {config_class.__name__} "
        "(did you mean batch_size?); known settings: ["
    )
    assert "\n" not in message


@pytest.mark.parametrize("config_class, overrides, message", APP_RULES)
def test_the_rules_of_each_app(config_class, overrides, message):
    assert _error(config_class, overrides) == f"Invalid setting {message}"


@pytest.mark.parametrize("app, config_class", CONFIGS.items())
def test_the_shipped_configs_are_valid(app, config_class):
    paths = glob.glob(os.path.join(APPS_DIR, app, "configs", "*.json"))
    assert paths
    for path in paths:
        assert isinstance(load_config(config_class, path), config_class)


def test_the_command_line_reports_a_bad_setting_in_one_line(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "attention_suite.apps.cli",
            "translate",
            "train",
            "--set",
            "batch_size=0",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "attn translate: error: Invalid setting batch_size=0: expected an "
        "integer >= 1."
    ]
    assert not out.exists()
