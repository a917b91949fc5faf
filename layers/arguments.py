"""Constructor argument checks that raise `ValueError`s worded as Keras'.

Each check names the argument and the value it received, e.g.
"Received an invalid value for argument `num_heads`, expected a positive
integer. Received: num_heads=0".
"""

import numbers


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _invalid(name, expected, value):
    return ValueError(
        f"Received an invalid value for argument `{name}`, expected "
        f"{expected}. Received: {name}={value!r}"
    )


def check_positive_int(name, value, allow_none=False):
    """Raises a `ValueError` unless `value` is a positive integer.

    Args:
        name: the argument's name.
        value: the argument's value.
        allow_none: whether `None` (a default to be filled in) is accepted.
    """
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        expected = "a positive integer" + (" or `None`" if allow_none else "")
        raise _invalid(name, expected, value)


def check_positive_float(name, value):
    """Raises a `ValueError` unless `value` is a positive number.

    Args:
        name: the argument's name.
        value: the argument's value.
    """
    if not _is_number(value) or not value > 0:
        raise _invalid(name, "a positive float", value)


def check_rate(name, value):
    """Raises a `ValueError` unless `value` is a float in `[0, 1)`.

    Args:
        name: the argument's name, e.g. `"dropout"`.
        value: the argument's value.
    """
    if not _is_number(value) or not 0 <= value < 1:
        raise _invalid(name, "a float in the range [0, 1)", value)


def check_one_of(name, value, choices):
    """Raises a `ValueError` unless `value` is one of `choices`.

    Args:
        name: the argument's name.
        value: the argument's value.
        choices: the allowed values.
    """
    if value not in choices:
        raise _invalid(name, f"one of {tuple(choices)}", value)


def check_divisible(name, value, divisor_name, divisor):
    """Raises a `ValueError` unless `divisor` divides `value`.

    Args:
        name: the name of the argument to divide.
        value: its value.
        divisor_name: the name of the dividing argument.
        divisor: its value.
    """
    if value % divisor:
        raise ValueError(
            f"`{name}` must be divisible by `{divisor_name}`. Received: "
            f"{name}={value}, {divisor_name}={divisor}"
        )
