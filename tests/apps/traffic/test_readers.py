"""Tests for the traffic speed and sensor-graph readers."""

import codecs
import gzip
import os
import pickle
import pickletools
import shlex
import time

import numpy as np
import pandas as pd
import pytest
from helpers import real_data_dir

from attention_suite.apps.traffic import readers
from attention_suite.apps.traffic.readers.pickles import RestrictedUnpickler

SENSOR_IDS = ["773869", "767541", "717447"]


def write_csv(path, lines):
    """Writes CSV lines to `path`, gzipped when the name ends with `.gz`."""
    text = "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as file:
            file.write(text)
    else:
        path.write_text(text)
    return path


def speeds_frame(rng, steps=6, freq="5min"):
    """A small speed DataFrame in METR-LA layout, with a zero and a NaN."""
    values = rng.uniform(1, 70, size=(steps, len(SENSOR_IDS))).astype(
        np.float32
    )
    values[1, 0] = 0.0
    values[2, 1] = np.nan
    index = pd.date_range(
        "2012-03-01", periods=steps, freq=freq, name="timestamp"
    )
    return pd.DataFrame(values, index=index, columns=SENSOR_IDS)


def check_speeds(speeds, expected):
    """Asserts the reader's contract and equality with `expected`."""
    assert isinstance(speeds.index, pd.DatetimeIndex)
    assert speeds.index.name == "timestamp"
    assert speeds.index.freq == expected.index.freq
    assert list(speeds.columns) == list(expected.columns)
    assert all(dtype == np.float32 for dtype in speeds.dtypes)
    pd.testing.assert_index_equal(speeds.index, expected.index, exact=False)
    np.testing.assert_array_equal(speeds.to_numpy(), expected.to_numpy())


@pytest.mark.parametrize("name", ["los_speed.csv", "los_speed.csv.gz"])
def test_tgcn_csv_is_dated_from_start_and_freq(tmp_path, rng, name):
    expected = speeds_frame(rng)
    lines = [",".join(SENSOR_IDS)] + [
        ",".join("" if np.isnan(v) else repr(float(v)) for v in row)
        for row in expected.to_numpy()
    ]
    path = write_csv(tmp_path / name, lines)
    speeds = readers.read_speeds(path, start="2012-03-01", freq="5min")
    check_speeds(speeds, expected)
    assert speeds.iat[1, 0] == 0.0
    assert np.isnan(speeds.iat[2, 1])
    # Without timestamps, nothing is assumed about the step or the start.
    for options in ({}, {"start": "2012-03-01"}, {"freq": "5min"}):
        with pytest.raises(ValueError, match=r"has no timestamps.*--freq"):
            readers.read_speeds(path, **options)


def test_tgcn_csv_timestamps_from_start_and_freq(tmp_path):
    path = write_csv(tmp_path / "speeds.csv", ["7,8", "1,2", "3,4", "5,6"])
    speeds = readers.read_speeds(path, start="2020-01-31 23:30", freq="15min")
    assert list(speeds.index.astype(str)) == [
        "2020-01-31 23:30:00",
        "2020-01-31 23:45:00",
        "2020-02-01 00:00:00",
    ]
    assert speeds.index.freq == pd.Timedelta("15min")
    assert list(speeds.columns) == ["7", "8"]


def test_csv_with_timestamp_column(tmp_path, rng):
    expected = speeds_frame(rng, freq="10min")
    path = tmp_path / "speeds.csv"
    expected.to_csv(path)
    check_speeds(readers.read_speeds(path), expected)


def test_csv_with_named_timestamp_column(tmp_path):
    lines = ["a,time,b", "1,2024-05-01 10:00,2", "3,2024-05-01 11:00,4"]
    path = write_csv(tmp_path / "speeds.csv", lines)
    speeds = readers.read_speeds(path, timestamp_column="time")
    assert list(speeds.columns) == ["a", "b"]
    assert speeds.index.freq == pd.Timedelta("1h")
    np.testing.assert_array_equal(speeds.to_numpy(), [[1, 2], [3, 4]])


def test_hdf5_in_metr_la_layout(tmp_path, rng):
    expected = speeds_frame(rng)
    path = tmp_path / "metr-la.h5"
    expected.to_hdf(path, key="df")
    check_speeds(readers.read_speeds(path), expected)


def test_npz_takes_the_feature_and_start(tmp_path, rng):
    data = rng.uniform(0, 500, size=(5, 4, 3))
    path = tmp_path / "pems08.npz"
    np.savez(path, data=data)
    speeds = readers.read_speeds(
        path, start="2016-07-01", freq="15min", feature=2
    )
    assert list(speeds.columns) == ["0", "1", "2", "3"]
    assert speeds.index[0] == pd.Timestamp("2016-07-01")
    assert speeds.index.freq == pd.Timedelta("15min")
    np.testing.assert_array_equal(
        speeds.to_numpy(), data[:, :, 2].astype(np.float32)
    )


@pytest.mark.parametrize(
    "lines, match",
    [
        (
            ["1,2", "3,4", "5,abc"],
            r"non-numeric value 'abc' at data row 2.*column '2'",
        ),
        (["1,2,1", "3,4,5"], r"duplicate sensor columns \['1'\]"),
        (["1,", "3,4"], r"sensor column 2 has no name"),
        (["1,2"], r"header but no rows"),
        (
            [
                "t,1",
                "2024-05-01 10:00,1",
                "2024-05-01 10:05,1",
                "2024-05-01 10:15,1",
            ],
            r"irregular at data row 3.*0 days 00:10:00 after steps of "
            r"0 days 00:05",
        ),
        (
            [
                "t,1",
                "2024-05-01 10:00,1",
                "2024-05-01 10:05,1",
                "2024-05-01 10:05,1",
            ],
            r"not increasing at data row 3",
        ),
        (
            ["t,1", "2024-05-01 10:00,1", ",2"],
            r"missing timestamp at data row 2",
        ),
    ],
)
def test_bad_csv_speeds(tmp_path, lines, match):
    path = write_csv(tmp_path / "speeds.csv", lines)
    with pytest.raises(ValueError, match=match) as info:
        readers.read_speeds(path)
    assert str(path) in str(info.value)


def test_named_timestamp_column_must_exist_and_hold_dates(tmp_path):
    path = write_csv(tmp_path / "speeds.csv", ["a,b", "x,1", "y,2"])
    with pytest.raises(ValueError, match=r"no column named 'time'"):
        readers.read_speeds(path, timestamp_column="time")
    with pytest.raises(
        ValueError, match=r"column 'a' does not hold timestamps"
    ):
        readers.read_speeds(path, timestamp_column="a")


@pytest.mark.parametrize("name", ["speeds.csv", "speeds.h5", "speeds.npz"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"speeds\.\w+: the file is empty"):
        readers.read_speeds(path)


def test_empty_gzip_csv(tmp_path):
    path = write_csv(tmp_path / "speeds.csv.gz", [""])
    with pytest.raises(ValueError, match=r"the file is empty"):
        readers.read_speeds(path)


def test_unknown_extension(tmp_path):
    path = write_csv(tmp_path / "speeds.txt", ["1,2", "3,4"])
    with pytest.raises(
        ValueError, match=r"speeds\.txt: unknown file extension"
    ):
        readers.read_speeds(path)
    with pytest.raises(ValueError, match=r"unknown file extension"):
        readers.read_adjacency(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        readers.read_speeds(tmp_path / "absent.csv")


def test_irregular_hdf5_index(tmp_path, rng):
    frame = speeds_frame(rng)
    frame.index = frame.index.delete(3).append(pd.DatetimeIndex(["2012-03-02"]))
    path = tmp_path / "metr-la.h5"
    frame.to_hdf(path, key="df")
    with pytest.raises(
        ValueError, match=r"irregular at row 4 \(2012-03-01 00:20:00\)"
    ):
        readers.read_speeds(path)


def test_hdf5_without_timestamps(tmp_path, rng):
    path = tmp_path / "metr-la.h5"
    speeds_frame(rng).reset_index(drop=True).to_hdf(path, key="df")
    with pytest.raises(
        ValueError, match=r"index holds int64 values, not timestamps"
    ):
        readers.read_speeds(path)


def test_not_an_hdf5_file(tmp_path):
    path = write_csv(tmp_path / "speeds.h5", ["1,2"])
    with pytest.raises(ValueError, match=r"cannot be read as HDF5"):
        readers.read_speeds(path)


@pytest.mark.parametrize(
    "arrays, kwargs, match",
    [
        ({"data": np.zeros((4, 2, 3))}, {}, r"no timestamps"),
        (
            {"data": np.zeros((4, 2, 3))},
            {"start": "2018-01-01"},
            r"no timestamps",
        ),
        (
            {"flow": np.zeros((4, 2, 3))},
            {"start": "2018-01-01", "freq": "5min"},
            r"no array named",
        ),
        (
            {"data": np.zeros((4, 2))},
            {"start": "2018-01-01", "freq": "5min"},
            r"shape \(4, 2\)",
        ),
        (
            {"data": np.zeros((0, 2, 3))},
            {"start": "2018-01-01", "freq": "5min"},
            r"'data' is empty",
        ),
        (
            {"data": np.zeros((4, 2, 3))},
            {"start": "2018-01-01", "freq": "5min", "feature": 3},
            r"feature=3 is out of range for 3 features",
        ),
        (
            {"data": np.zeros((4, 2, 3))},
            {"start": "not a date", "freq": "5min"},
            r"cannot make",
        ),
        (
            {"data": np.zeros((4, 2, 3))},
            {"start": "2018-01-01", "freq": "1M"},
            r"freq='1M' is not a fixed step",
        ),
    ],
)
def test_bad_npz(tmp_path, arrays, kwargs, match):
    path = tmp_path / "pems04.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match):
        readers.read_speeds(path, **kwargs)


def test_missing_mask():
    mask = readers.missing_mask(
        np.array([[0.0, np.nan], [3.5, -1.0]], np.float32)
    )
    np.testing.assert_array_equal(mask, [[True, True], [False, False]])
    assert mask.dtype == bool
    # Where a zero is a real reading, only NaN is missing.
    mask = readers.missing_mask(np.array([0.0, np.nan, 3.0]), "nan")
    np.testing.assert_array_equal(mask, [False, True, False])
    with pytest.raises(ValueError, match=r"missing='zero'"):
        readers.missing_mask(mask, "zero")


def write_dcrnn_pickle(path, sensor_ids, adjacency, protocol):
    """Writes a graph pickle in DCRNN's `[ids, id_to_ind, adj_mx]` layout."""
    id_to_ind = {sensor_id: i for i, sensor_id in enumerate(sensor_ids)}
    with open(path, "wb") as file:
        pickle.dump([sensor_ids, id_to_ind, adjacency], file, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [0, 2])
def test_dcrnn_pickle(tmp_path, rng, protocol):
    adjacency = rng.uniform(size=(3, 3)).astype(np.float32)
    path = write_dcrnn_pickle(
        tmp_path / "adj_mx.pkl", SENSOR_IDS, adjacency, protocol
    )
    np.testing.assert_array_equal(readers.read_adjacency(path), adjacency)

    reordered = readers.read_adjacency(path, sensor_ids=SENSOR_IDS[::-1])
    np.testing.assert_array_equal(reordered, adjacency[::-1, ::-1])
    assert reordered.dtype == np.float32

    with pytest.raises(
        ValueError, match=r"1 of the 2 sensor ids are not in the graph"
    ):
        readers.read_adjacency(path, sensor_ids=["773869", "999"])


class _RunsACommand:
    """Pickles as a call of `os.system`, as a malicious pickle would."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "executed"
    payload = pickle.dumps(
        [SENSOR_IDS, {}, _RunsACommand(f"touch {shlex.quote(str(marker))}")],
        protocol=2,
    )
    path = tmp_path / "adj_mx.pkl"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=r"global '\w+\.system' is forbidden"):
        readers.read_adjacency(path)
    assert not marker.exists()

    # The payload is real: a plain unpickler runs the command.
    pickle.loads(payload)
    assert marker.exists()


def test_pickle_in_another_layout(tmp_path):
    path = tmp_path / "adj_mx.pkl"
    path.write_bytes(pickle.dumps({"adj_mx": np.eye(2)}))
    with pytest.raises(ValueError, match=r"expected a pickled \[sensor_ids"):
        readers.read_adjacency(path)


def test_csv_matrix(tmp_path, rng):
    adjacency = rng.uniform(size=(4, 4))
    path = tmp_path / "los_adj.csv"
    np.savetxt(path, adjacency, delimiter=",")
    result = readers.read_adjacency(path)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, adjacency, rtol=1e-6)
    with pytest.raises(ValueError, match=r"4 rows for 3 sensors"):
        readers.read_adjacency(path, sensor_ids=SENSOR_IDS)


@pytest.mark.parametrize(
    "lines, match",
    [
        (["1,0", "0,1", "1,1"], r"shape \(3, 2\) is not square"),
        (["1,0", "0,x"], r"non-numeric value 'x' at line 2, column 2"),
    ],
)
def test_bad_csv_matrix(tmp_path, lines, match):
    with pytest.raises(ValueError, match=match):
        readers.read_adjacency(write_csv(tmp_path / "adj.csv", lines))


@pytest.mark.parametrize("header", [[], ["from,to,distance"]])
def test_adjacency_from_distances(tmp_path, header):
    rows = ["a,a,0", "a,b,1", "b,a,1", "b,c,3", "a,c,10", "x,a,5"]
    path = write_csv(tmp_path / "distances.csv", header + rows)
    adjacency = readers.read_adjacency(path, sensor_ids=["a", "b", "c"])
    std = np.std([0, 1, 1, 3, 10])  # The distances between a, b and c.
    near, far = np.exp(-((1 / std) ** 2)), np.exp(-((3 / std) ** 2))
    assert near > far > readers.KERNEL_THRESHOLD > np.exp(-((10 / std) ** 2))
    expected = [[1, near, 0], [near, 1, far], [0, 0, 1]]
    np.testing.assert_allclose(adjacency, expected, rtol=1e-6)
    assert adjacency.dtype == np.float32


@pytest.mark.parametrize(
    "lines, sensor_ids, match",
    [
        (["a,b,1", "b,a,2", "a,a,0", "b,b,0"], None, r"needs sensor_ids"),
        (
            ["a,b,1", "b,a,-2", "a,a,0", "b,b,0"],
            ["a", "b"],
            r"negative .* line 2",
        ),
        (["a,b,1", "b,a,?", "a,a,0", "b,b,0"], ["a", "b"], r"'\?' at line 2"),
        (["a,b,1", "b,a,1", "x,y,0", "y,x,2"], ["a", "b"], r"do not vary"),
    ],
)
def test_bad_distances(tmp_path, lines, sensor_ids, match):
    path = write_csv(tmp_path / "distances.csv", lines)
    with pytest.raises(ValueError, match=match):
        readers.read_adjacency(path, sensor_ids=sensor_ids)


def test_dataset_paths(tmp_path):
    folder = tmp_path / "traffic" / "los_loop"
    folder.mkdir(parents=True)
    (folder / "los_speed.csv.gz").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=r"los_adj\.csv.*ATTN_DATA_DIR"):
        readers.dataset_paths("los_loop", tmp_path)
    (folder / "los_adj.csv").write_bytes(b"x")
    assert readers.dataset_paths("los_loop", tmp_path) == (
        str(folder / "los_speed.csv.gz"),
        str(folder / "los_adj.csv"),
        {"start": "2012-03-01 00:00", "freq": "5min"},
    )
    with pytest.raises(ValueError, match=r"Unknown traffic dataset 'metr'"):
        readers.dataset_paths("metr", tmp_path)
    # The downloadable sets say how to get them.
    with pytest.raises(FileNotFoundError, match=r"attn data fetch pems-bay"):
        readers.dataset_paths("pems-bay", tmp_path)


def test_timestamps_must_agree_with_start_and_freq(tmp_path, rng):
    path = tmp_path / "speeds.csv"
    speeds_frame(rng, freq="15min").to_csv(path)
    readers.read_speeds(path, start="2012-03-01", freq="15min")
    with pytest.raises(ValueError, match=r"15min apart, not freq=5min"):
        readers.read_speeds(path, freq="5min")
    with pytest.raises(ValueError, match=r"start at 2012-03-01 00:00:00, not"):
        readers.read_speeds(path, start="2012-03-02")


def pickled_sensor_ids(path):
    """The sensor ids of a DCRNN graph pickle, read without running code."""
    with open(path, "rb") as file:
        return RestrictedUnpickler(file, encoding="latin1").load()[0]


def test_real_data():
    data_dir = real_data_dir()
    speeds_path, adjacency_path, options = readers.dataset_paths(
        "los_loop", data_dir
    )
    speeds = readers.read_speeds(speeds_path, **options)
    assert speeds.shape == (2016, 207)
    assert speeds.index[0] == pd.Timestamp("2012-03-01 00:00")
    assert speeds.index.freq == pd.Timedelta("5min")
    assert (speeds.index[1:] - speeds.index[:-1] == pd.Timedelta("5min")).all()
    assert readers.read_adjacency(adjacency_path, speeds.columns).shape == (
        207,
        207,
    )

    # The Los-loop header holds the METR-LA sensor ids in DCRNN's order.
    metr_la_path = data_dir / "traffic" / "metr_la_graph" / "adj_mx.pkl"
    assert list(speeds.columns) == pickled_sensor_ids(metr_la_path)[:207]
    metr_la = readers.read_adjacency(metr_la_path)
    assert metr_la.shape == (207, 207)
    aligned = readers.read_adjacency(metr_la_path, sensor_ids=speeds.columns)
    np.testing.assert_array_equal(aligned, metr_la)

    # DCRNN made the PEMS-BAY graph from this distance list with this kernel.
    bay_dir = data_dir / "traffic" / "pems_bay_graph"
    bay_ids = pickled_sensor_ids(bay_dir / "adj_mx_bay.pkl")
    kernel = readers.read_adjacency(bay_dir / "distances_bay_2017.csv", bay_ids)
    bay = readers.read_adjacency(bay_dir / "adj_mx_bay.pkl")
    assert bay.shape == (325, 325)
    np.testing.assert_allclose(kernel, bay, atol=1e-6)


class _Reduces:
    """Pickles as `function(*args)`, then `__setstate__(state)` if given."""

    def __init__(self, function, args, state=None):
        self.reduced = (
            (function, args)
            if state is None
            else (
                function,
                args,
                state,
            )
        )

    def __reduce__(self):
        return self.reduced


_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]


@pytest.mark.parametrize(
    "adjacency, problem",
    [
        # `ndarray(shape, dtype, buffer)` called directly: object pointers
        # made from the pickle's bytes (a plain unpickler crashes on use).
        (
            _Reduces(np.ndarray, ((1,), np.dtype(object), b"AAAAAAAA")),
            "dtype",
        ),
        (np.array([1, "a"], dtype=object), "dtype"),
        (np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]), "dtype"),
        # A few bytes asking for 8 TB, before anything is allocated.
        (
            _Reduces(
                _RECONSTRUCT,
                (np.ndarray, (0,), b"b"),
                (1, (10**6, 10**6), np.dtype("f8"), False, b"x"),
            ),
            "over the limit",
        ),
        (
            _Reduces(
                _RECONSTRUCT,
                (np.ndarray, (0,), b"b"),
                (1, (2, 2), np.dtype("f4"), False, b"\0" * 4),
            ),
            "needs 16 bytes",
        ),
        (_Reduces(codecs.encode, ("payload", "zlib")), "encoding"),
    ],
)
def test_hostile_graph_pickles_are_refused_before_allocating(
    tmp_path, adjacency, problem
):
    path = tmp_path / "adj_mx.pkl"
    path.write_bytes(pickle.dumps([SENSOR_IDS, {}, adjacency], protocol=2))
    with pytest.raises(ValueError, match=f"graph pickle.*{problem}"):
        readers.read_adjacency(path)


def test_a_pickled_graph_comes_back_writable(tmp_path):
    path = write_dcrnn_pickle(
        tmp_path / "adj_mx.pkl", SENSOR_IDS, np.eye(3, dtype="float32"), 2
    )
    adjacency = readers.read_adjacency(path)
    adjacency[0, 1] = 0.5
    assert adjacency[0, 1] == 0.5


def _opcodes(*parts):
    """A pickle written by hand: protocol 4, then `parts`, then STOP."""
    return b"\x80\x04" + b"".join(parts) + b"."


def _nested_shared(levels):
    """A list whose every level holds the level below twice (memo refs)."""
    body = b"]\x94"  # EMPTY_LIST, MEMOIZE: memo 0.
    for level in range(1, levels + 1):
        # EMPTY_LIST, MARK, BINGET prev, BINGET prev, APPENDS, MEMOIZE.
        body += b"](h" + bytes([level - 1]) + b"h" + bytes([level - 1])
        body += b"e\x94"
    return _opcodes(body)


@pytest.mark.parametrize(
    "data, problem",
    [
        # Lengths of 2^60 and 2^63 with no body behind them.
        (_opcodes(b"\x8e" + (2**60).to_bytes(8, "little")), "BINBYTES8 decl"),
        (_opcodes(b"\x8d" + (2**63).to_bytes(8, "little")), "BINUNICODE8 d"),
        (b"\x80\x04\x95" + (2**60).to_bytes(8, "little") + b".", "truncated"),
        # 22 levels, each pointing twice at the one below: 4 million
        # leaves if shared references were copied.
        (_nested_shared(22), "expected a pickled"),
        # A list that appends itself.
        (_opcodes(b"]\x94h\x00a"), "holds itself"),
        # 100,000 nested lists.
        (_opcodes(b"]" * 100_000 + b"a" * 99_999), "nested deeper"),
    ],
)
def test_pickles_that_break_a_budget_are_one_line(tmp_path, data, problem):
    path = tmp_path / "adj_mx.pkl"
    path.write_bytes(data)
    start = time.monotonic()
    with pytest.raises(ValueError, match=problem) as error:
        readers.read_adjacency(path)
    assert time.monotonic() - start < 5
    assert "\n" not in str(error.value)


def test_random_opcode_sequences_are_read_or_refused_in_one_line(tmp_path):
    """2,000 pickles of random opcodes with random arguments (seeded): each
    is read or refused with a one-line `ValueError`, all in seconds."""
    rng = np.random.default_rng(0)
    codes = [op.code.encode("latin1") for op in pickletools.opcodes]
    path = tmp_path / "adj_mx.pkl"
    start = time.monotonic()
    for _ in range(2000):
        parts = [
            codes[rng.integers(len(codes))]
            + rng.bytes(int(rng.integers(0, 10)))
            for _ in range(int(rng.integers(1, 40)))
        ]
        path.write_bytes(_opcodes(*parts))
        try:
            readers.read_adjacency(path)
        except ValueError as error:
            assert "\n" not in str(error)
    assert time.monotonic() - start < 60


def test_a_labelled_matrix_as_pandas_writes_it(tmp_path):
    ids = ["s00", "s01", "s02", "s03"]
    weights = np.arange(16, dtype=float).reshape(4, 4)
    order = [2, 0, 3, 1]
    frame = pd.DataFrame(
        weights[np.ix_(order, order)],
        index=[ids[i] for i in order],
        columns=[ids[i] for i in order],
    )
    path = tmp_path / "adjacency.csv"
    frame.to_csv(path)
    np.testing.assert_array_equal(
        readers.read_adjacency(path, sensor_ids=ids), weights
    )
    frame.rename_axis("sensor").to_csv(path)
    np.testing.assert_array_equal(
        readers.read_adjacency(path, sensor_ids=ids), weights
    )
    with pytest.raises(ValueError, match=r"not in the graph: \['s09'\]"):
        readers.read_adjacency(path, sensor_ids=[*ids[:3], "s09"])
