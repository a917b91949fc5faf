"""A pickle reader that cannot run code: for DCRNN's graph pickles.

A pickle is a program; `RestrictedUnpickler` runs it with every global
refused but NumPy arrays, lists, dicts and strings, and `check_opcodes`
walks its opcodes first, without running them, so a forged length, a
nesting too deep or too many items is refused before anything is
allocated. Shared references stay shared: a list whose levels each point
twice at the one below is refused by its layout, not unfolded.
"""

import pickle
import pickletools

import numpy as np

# The most bytes one pickled graph array may hold (a float64 matrix of about
# 11,500 sensors); a pickle asking for more is refused before allocating.
MAX_GRAPH_BYTES = 2**30


class _PickledArray:
    """A NumPy array that a graph pickle asks for, checked before it is made.

    NumPy pickles an array as `_reconstruct(ndarray, shape, dtype)` followed
    by `__setstate__((version, shape, dtype, is_fortran, raw_bytes))`. This
    stand-in takes that state, checks that the dtype is a plain number type
    (no object or structured dtype, whose raw bytes would be pointers) and
    that the shape, the byte count and `MAX_GRAPH_BYTES` agree, and only then
    copies the bytes into an array.
    """

    def __setstate__(self, state):
        shape, dtype, is_fortran, raw = state[-4:]
        dtype = _number_dtype(dtype)
        if not (
            isinstance(shape, tuple)
            and all(isinstance(n, int) and n >= 0 for n in shape)
        ):
            raise pickle.UnpicklingError(f"bad array shape {shape!r}")
        size = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if size > MAX_GRAPH_BYTES:
            raise pickle.UnpicklingError(
                f"an array of shape {shape} and dtype {dtype} holds {size} "
                f"bytes, over the limit of {MAX_GRAPH_BYTES}"
            )
        if isinstance(raw, str):  # Python 2 pickles, read as latin-1.
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != size:
            raise pickle.UnpicklingError(
                f"an array of shape {shape} and dtype {dtype} needs {size} "
                "bytes of data"
            )
        order = "F" if is_fortran else "C"
        # A writable copy, as NumPy's own unpickling gives.
        self.array = np.frombuffer(raw, dtype).reshape(shape, order=order)
        self.array = self.array.copy(order="K")


def _number_dtype(dtype):
    """`dtype` if it is a plain boolean, integer or float type.

    Raises:
        pickle.UnpicklingError: an object, structured or other dtype.
    """
    if not (
        isinstance(dtype, np.dtype)
        and dtype.kind in "biuf"
        and dtype.fields is None
        and not dtype.hasobject
    ):
        raise pickle.UnpicklingError(
            f"dtype {dtype!r} is refused: a graph pickle may hold only "
            "arrays of numbers"
        )
    return dtype


def _reconstruct(subtype, shape, dtype):
    """NumPy's `_reconstruct`, for plain arrays only (see `_PickledArray`)."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("only plain NumPy arrays are allowed")
    return _PickledArray()


def _dtype(name, align=False, copy=True):
    """NumPy's `dtype(...)`, for the names of number types only."""
    if not isinstance(name, str):
        raise pickle.UnpicklingError(f"bad dtype {name!r}")
    return _number_dtype(np.dtype(name))


def _scalar(dtype, raw):
    """NumPy's `scalar(dtype, raw_bytes)`, for number types only."""
    dtype = _number_dtype(dtype)
    if isinstance(raw, str):
        raw = raw.encode("latin1")
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise pickle.UnpicklingError(f"bad {dtype} scalar data")
    return np.frombuffer(raw, dtype)[0]


def _latin1(text, encoding):
    """`_codecs.encode(text, "latin1")`, how Python 3 pickles `bytes`."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"encoding {encoding!r} is refused")
    return text.encode("latin1")


# What `numpy.ndarray` unpickles to: a marker that `_reconstruct` accepts and
# that cannot be called, so `ndarray(shape, dtype, buffer)` is refused.
_NDARRAY = object()


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only number arrays and plain containers.

    Pickled lists, dicts, tuples, numbers and strings need no globals; NumPy
    arrays and scalars need the few functions below, each replaced by a
    checked version: only plain boolean, integer and float arrays of at most
    `MAX_GRAPH_BYTES`, made from the pickle's own bytes. Any other global,
    which is how a pickle runs code, is refused.
    """

    # NumPy's pickling functions live in `numpy.core.multiarray` before
    # NumPy 2 and in `numpy._core.multiarray` since.
    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.multiarray", "scalar"): _scalar,
        ("numpy._core.multiarray", "scalar"): _scalar,
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): _dtype,
        # Python 3 writes `bytes` (an array's buffer) in protocols 2 and 3
        # as `_codecs.encode(text, "latin1")`.
        ("_codecs", "encode"): _latin1,
    }

    def find_class(self, module, name):
        """Returns an allowed global.

        Raises:
            pickle.UnpicklingError: the global is not allowed.
        """
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global '{module}.{name}' is forbidden: a graph pickle may "
                "hold only NumPy arrays, lists, dicts and strings"
            ) from None

    def load(self):
        """Reads the pickle; its arrays come back as NumPy arrays."""
        return _arrays_made(super().load())


# Budgets of a graph pickle: its opcodes, the containers' nesting and the
# items they hold in all (a DCRNN graph has a few thousand of each, nested
# three deep).
MAX_PICKLE_OPCODES = 2_000_000


MAX_PICKLE_DEPTH = 32


MAX_PICKLE_ITEMS = 2_000_000


# pickletools' codes for an argument whose length comes first: the bytes
# and signedness of that length.
_LENGTH_PREFIX = {
    pickletools.TAKEN_FROM_ARGUMENT1: (1, False),
    pickletools.TAKEN_FROM_ARGUMENT4: (4, True),
    pickletools.TAKEN_FROM_ARGUMENT4U: (4, False),
    pickletools.TAKEN_FROM_ARGUMENT8U: (8, False),
}


_OPCODES = {op.code.encode("latin1"): op for op in pickletools.opcodes}


def check_opcodes(data):
    """Walks a pickle's opcodes without building or decoding anything.

    An unknown opcode, an argument longer than the bytes present (BINBYTES8
    or BINUNICODE8 declaring 2^60) or more than `MAX_PICKLE_OPCODES`
    opcodes are refused before the unpickler allocates anything.

    Raises:
        pickle.UnpicklingError: the pickle breaks a budget or is malformed.
    """
    position, count = 0, 0
    while position < len(data):
        count += 1
        if count > MAX_PICKLE_OPCODES:
            raise pickle.UnpicklingError(
                f"more than {MAX_PICKLE_OPCODES} opcodes"
            )
        op = _OPCODES.get(data[position : position + 1])
        if op is None:
            raise pickle.UnpicklingError(
                f"unknown opcode {data[position : position + 1]!r} at byte "
                f"{position}"
            )
        position += 1
        if op.name == "STOP":
            return
        size = op.arg.n if op.arg else 0
        if size == pickletools.UP_TO_NEWLINE:
            # GLOBAL and INST take two lines (module and name).
            end = position - 1
            for _ in range(1 + (op.arg.name == "stringnl_noescape_pair")):
                end = data.find(b"\n", end + 1)
                if end < 0:
                    end = len(data)
                    break
            size = end - position + 1
        elif size in _LENGTH_PREFIX:
            width, signed = _LENGTH_PREFIX[size]
            length = int.from_bytes(
                data[position : position + width], "little", signed=signed
            )
            if length < 0:
                raise pickle.UnpicklingError(f"{op.name} with a negative size")
            size = width + length
        if position + size > len(data):
            raise pickle.UnpicklingError(
                f"{op.name} declares {size} bytes, {len(data) - position} "
                "are present"
            )
        position += size


def _arrays_made(content):
    """`content` with every `_PickledArray` replaced by its array.

    A container met twice is converted once and shared, as in the pickle;
    one that holds itself, nesting deeper than `MAX_PICKLE_DEPTH` or more
    than `MAX_PICKLE_ITEMS` items in all are refused.

    Raises:
        pickle.UnpicklingError: a budget is broken, or an array has no data.
    """
    made, open_ids, items = {}, set(), [0]

    def convert(value, depth):
        if isinstance(value, _PickledArray):
            if not hasattr(value, "array"):
                raise pickle.UnpicklingError("an array without its data")
            return value.array
        if not isinstance(value, (list, tuple, dict)):
            return value
        key = id(value)
        if key in made:
            return made[key]
        if key in open_ids:
            raise pickle.UnpicklingError("a container that holds itself")
        if depth >= MAX_PICKLE_DEPTH:
            raise pickle.UnpicklingError(
                f"containers nested deeper than {MAX_PICKLE_DEPTH}"
            )
        items[0] += len(value)
        if items[0] > MAX_PICKLE_ITEMS:
            raise pickle.UnpicklingError(
                f"more than {MAX_PICKLE_ITEMS} items in all"
            )
        open_ids.add(key)
        if isinstance(value, dict):
            result = {k: convert(v, depth + 1) for k, v in value.items()}
        else:
            result = type(value)(convert(v, depth + 1) for v in value)
        open_ids.discard(key)
        made[key] = result
        return result

    return convert(content, 0)
