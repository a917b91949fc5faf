"""Run configuration: dataclasses filled from JSON files and `--set` flags.

An app's config is a dataclass whose fields all have defaults. Each field's
type comes from its annotation (`int`, `float`, `str`, `bool`, `tuple` or
`list`); `setting` declares the range or the choices of its values. The
config's `__post_init__` calls `check_settings`, then checks the rules that
tie settings together, so a config is valid however it is built: from
`load_config`, from a run's `config.json` or in code.
"""

import dataclasses
import difflib
import json
import math
import operator
import typing

from attention_suite.apps.common.data.atomic import atomic_write_json

# What a value of each field type must be, in error messages.
_KINDS = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    tuple: "a list",
    list: "a list",
}
# The bounds of `setting`: how each is written and how it compares.
_BOUNDS = {
    "minimum": (">=", operator.ge),
    "maximum": ("<=", operator.le),
    "above": (">", operator.gt),
    "below": ("<", operator.lt),
}


# The value of a setting resolved from the data when a run trains.
AUTO = "auto"


def setting(
    default,
    minimum=None,
    maximum=None,
    above=None,
    below=None,
    choices=None,
    auto=False,
):
    """A config field with rules on its values.

    Args:
        default: the default value.
        minimum: the smallest value allowed.
        maximum: the largest value allowed.
        above: values must be strictly greater than this.
        below: values must be strictly less than this.
        choices: the values allowed, when they are a fixed set.
        auto: whether `AUTO` ("auto") is allowed too: a value the run
            resolves from its data and writes into its `config.json`.

    Returns:
        A `dataclasses.field` whose metadata holds the rules that were
        given.

    Example:

    >>> @dataclasses.dataclass
    ... class Config:
    ...     batch_size: int = setting(32, minimum=1)
    ...     dropout: float = setting(0.1, minimum=0, below=1)
    ...
    ...     def __post_init__(self):
    ...         check_settings(self)
    >>> Config(batch_size=0)
    Traceback (most recent call last):
    ValueError: Invalid setting batch_size=0: expected an integer >= 1.
    """
    rules = {
        "minimum": minimum,
        "above": above,
        "maximum": maximum,
        "below": below,
        "choices": choices,
    }
    metadata = {name: rule for name, rule in rules.items() if rule is not None}
    if auto:
        metadata["auto"] = True
    return dataclasses.field(default=default, metadata=metadata)


def invalid_setting(name, value, expected):
    """The error of a setting whose value breaks a rule.

    Args:
        name: the setting.
        value: its value.
        expected: what it must be, in words (e.g. `"an integer >= 1"`).

    Returns:
        A `ValueError` whose message names the setting, its value and what
        is expected, in one line.
    """
    return ValueError(
        f"Invalid setting {name}={_shown(value)}: expected {expected}."
    )


def check_multiple(config, name, divisor):
    """Checks that one integer setting is a multiple of another.

    Args:
        config: a config dataclass instance.
        name: the setting that must be a multiple (e.g. `"embedding_dim"`).
        divisor: the setting it must be a multiple of (e.g. `"num_heads"`).

    Raises:
        ValueError: it is not.
    """
    value, by = getattr(config, name), getattr(config, divisor)
    if value % by:
        raise invalid_setting(name, value, f"a multiple of {divisor}={by}")


def check_settings(config):
    """Checks every field of a config against its type and its rules.

    An integer is accepted for a `float` field and a list for a `tuple`
    field; the field then holds the converted value.

    Args:
        config: a dataclass instance.

    Raises:
        ValueError: a field holds a value of another type or outside its
            rules; the message names the first such field, its value and
            what is expected.
    """
    types = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        kind = typing.get_origin(types[field.name]) or types[field.name]
        given = getattr(config, field.name)
        if given == AUTO and field.metadata.get("auto"):
            continue
        value = _converted(given, kind)
        if value is None or not _follows(value, field.metadata):
            raise invalid_setting(
                field.name, given, _expected(kind, field.metadata)
            )
        setattr(config, field.name, value)


def _converted(value, kind):
    """`value` as a `kind`, or `None` when it is not one."""
    if kind is bool:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if kind is int:
        return value if isinstance(value, int) else None
    if kind is float:
        is_number = isinstance(value, (int, float)) and math.isfinite(value)
        return float(value) if is_number else None
    if kind is str:
        return value if isinstance(value, str) else None
    if kind in (tuple, list):
        return kind(value) if isinstance(value, (tuple, list)) else None
    return value


def _follows(value, rules):
    """Whether `value` follows the rules of `setting`."""
    if "choices" in rules and value not in rules["choices"]:
        return False
    return all(
        _BOUNDS[name][1](value, bound)
        for name, bound in rules.items()
        if name in _BOUNDS
    )


def _expected(kind, rules):
    """What a field of type `kind` with `rules` must hold, in words."""
    if "choices" in rules:
        return f"one of {', '.join(map(_shown, rules['choices']))}"
    kind_words = _KINDS.get(kind, kind.__name__)
    bounds = " and ".join(
        f"{_BOUNDS[name][0]} {bound}"
        for name, bound in rules.items()
        if name in _BOUNDS
    )
    expected = f"{kind_words} {bounds}" if bounds else kind_words
    return f'{expected} or "{AUTO}"' if rules.get("auto") else expected


def _shown(value):
    """`value` as it is written in a config file or a `--set` flag."""
    return value if isinstance(value, str) else json.dumps(value, default=repr)


def load_config(config_class, path=None, overrides=(), base=None):
    """Builds a config dataclass from defaults, a JSON file and overrides.

    Args:
        config_class: a dataclass type whose fields all have defaults.
        path: optional JSON file with a subset of the fields.
        overrides: `"name=value"` strings, applied last. The value of a
            string setting is taken as written; other values are parsed as
            JSON (`3`, `0.5`, `true`, `[0.7, 0.1, 0.2]`), a list also
            without its brackets (`0.7,0.1,0.2`).
        base: optional JSON file of settings read before `path` (a saved
            `config.json`).

    Returns:
        A `config_class` instance.

    Raises:
        ValueError: an unknown setting, a malformed override, a file that is
            not a JSON object, or a value that `config_class` refuses.
    """
    values = {}
    for file in (base, path):
        if file:
            values.update(_read_settings(file))
    types = typing.get_type_hints(config_class)
    for override in overrides:
        name, sep, raw = override.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(
                f"Expected NAME=VALUE in --set, received {override!r}."
            )
        values[name] = raw if types.get(name) is str else _parsed(raw)
    return config_from(config_class, values)


def config_from(config_class, settings=None):
    """A config from a config, a dict of settings or nothing (the defaults).

    What the apps' Python `train` takes as its `config`.

    Args:
        config_class: the app's config dataclass.
        settings: a `config_class` instance (returned as is), a dict mapping
            setting names to values, or `None`.

    Returns:
        A `config_class` instance.

    Raises:
        ValueError: an unknown setting or a value `config_class` refuses.

    Example:

    >>> @dataclasses.dataclass
    ... class Settings:
    ...     epochs: int = 1
    >>> config_from(Settings, {"epochs": 2})
    Settings(epochs=2)
    """
    if isinstance(settings, config_class):
        return settings
    if settings is not None and not isinstance(settings, dict):
        raise ValueError(
            f"Expected a {config_class.__name__}, a dict of settings or None "
            f"as the config, received {type(settings).__name__}."
        )
    values = dict(settings or {})
    known = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        close = [
            match
            for name in unknown
            for match in difflib.get_close_matches(name, known, n=1)
        ]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"Unknown setting(s) {unknown} for {config_class.__name__}{hint}; "
            f"known settings: {sorted(known)}."
        )
    return config_class(**values)


def _read_settings(path):
    """The JSON object of settings in the file `path`."""
    with open(path, encoding="utf-8") as f:
        try:
            values = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object of settings.")
    return values


def _parsed(raw):
    """A `--set` value parsed as JSON (`10,30,60` as the list `[10, 30,
    60]`), or the raw text when it is not JSON."""
    for text in (raw, f"[{raw}]" if "," in raw else None):
        if text is not None:
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                pass
    return raw


def save_config(config, path):
    """Writes a config dataclass as JSON (atomically).

    Args:
        config: a dataclass instance.
        path: the destination file.
    """
    atomic_write_json(path, dataclasses.asdict(config))
