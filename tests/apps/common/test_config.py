"""Configs: JSON files and `--set` overrides, checked against each field."""

import dataclasses

import pytest

from attention_suite.apps.common.data.atomic import atomic_write_json
from attention_suite.apps.common.training.config import (
    check_multiple,
    check_settings,
    load_config,
    save_config,
    setting,
)


@dataclasses.dataclass
class _Config:
    epochs: int = setting(3, minimum=1)
    name: str = "a"
    split: tuple = (0.7, 0.3)
    rate: float = setting(0.5, above=0, maximum=1)
    mode: str = setting("fast", choices=("fast", "slow"))
    shuffle: bool = True
    width: int = 8
    heads: int = 2

    def __post_init__(self):
        check_settings(self)
        check_multiple(self, "width", "heads")


def test_config_from_file_and_overrides(tmp_path):
    path = tmp_path / "config.json"
    atomic_write_json(path, {"epochs": 5, "rate": 1})
    config = load_config(_Config, path, ["name=7", "split=[0.5, 0.5]"])
    assert config == _Config(epochs=5, name="7", split=(0.5, 0.5), rate=1.0)
    assert isinstance(config.rate, float)
    save_config(config, tmp_path / "saved.json")
    assert load_config(_Config, tmp_path / "saved.json") == config


@pytest.mark.parametrize(
    "content, overrides, message",
    [
        ('{"epoch": 1}', [], r"Unknown setting\(s\) \['epoch'\]"),
        ("{not json", [], "is not valid JSON"),
        ("[1, 2]", [], "must hold a JSON object"),
        ("{}", ["epochs"], "Expected NAME=VALUE"),
    ],
)
def test_config_file_errors(tmp_path, content, overrides, message):
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_config(_Config, path, overrides)


@pytest.mark.parametrize(
    "override, message",
    [
        ("epochs=abc", "epochs=abc: expected an integer >= 1."),
        ("epochs=2.5", "epochs=2.5: expected an integer >= 1."),
        ("epochs=true", "epochs=true: expected an integer >= 1."),
        ("epochs=0", "epochs=0: expected an integer >= 1."),
        ("rate=0", "rate=0: expected a number > 0 and <= 1."),
        ("rate=1.5", "rate=1.5: expected a number > 0 and <= 1."),
        ("rate=NaN", "rate=NaN: expected a number > 0 and <= 1."),
        ("mode=medium", "mode=medium: expected one of fast, slow."),
        ("shuffle=1", "shuffle=1: expected true or false."),
        ("split=0.5", "split=0.5: expected a list."),
        ("width=9", "width=9: expected a multiple of heads=2."),
    ],
)
def test_a_bad_value_names_the_setting_and_what_is_expected(override, message):
    with pytest.raises(ValueError) as error:
        load_config(_Config, None, [override])
    assert str(error.value) == f"Invalid setting {message}"


def test_configs_built_in_code_are_checked_too():
    with pytest.raises(ValueError, match="epochs=0: expected"):
        _Config(epochs=0)
    with pytest.raises(ValueError, match="epochs=0: expected"):
        dataclasses.replace(_Config(), epochs=0)


def test_auto_settings_resolve_from_the_corpus_and_say_so(tmp_path, capsys):
    from attention_suite.apps.common.data.tokenizers import (
        train_or_load_tokenizer,
    )
    from attention_suite.apps.common.training import fit
    from attention_suite.apps.translation.config import TranslationConfig

    texts = [f"a small corpus of {n} words" for n in range(60)]
    tokenizer = train_or_load_tokenizer(str(tmp_path / "t.model"), texts, 8000)
    config = TranslationConfig(epochs=10, batch_size=16)
    assert config.warmup_steps == "auto"
    fit.resolve_auto(config, 7, tokenizer)
    # 5 % of 10 epochs of 7 steps.
    assert config.warmup_steps == 4
    assert config.vocabulary_size == tokenizer.vocabulary_size() < 8000
    out = capsys.readouterr().out
    assert "warmup_steps=auto: 4" in out
    assert f"vocabulary_size=8000 -> {config.vocabulary_size}:" in out
    with pytest.raises(ValueError, match='an integer >= 0 or "auto"'):
        TranslationConfig(warmup_steps="soon")


def test_a_vocabulary_too_small_for_the_text_is_one_line(tmp_path):
    from attention_suite.apps.common.data.tokenizers import train_tokenizer

    texts = [f"a small corpus of {n} words" for n in range(60)]
    with pytest.raises(ValueError) as error:
        train_tokenizer(texts, 5)
    assert str(error.value).startswith(
        "vocabulary_size=5: SentencePiece cannot learn it from the training "
        "text (Vocabulary size is smaller than required_chars."
    )
    assert "\n" not in str(error.value)
