"""CSV uploads: header and units, interval from timestamps, irregular timing, bad lines named."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from backend.datasets.formats import UploadError, UploadLimits, csv_format, parse_upload

LIMITS = UploadLimits()
DEMO = Path(__file__).parents[3] / "backend" / "datasets" / "demo_data" / "basic-motions"


def parse(text: str, **kwargs: object) -> object:
    return parse_upload(
        "idle.1.csv", "text/csv", text.encode(), hmac_key=None, limits=LIMITS, **kwargs
    )


def refusal(text: str, **kwargs: object) -> UploadError:
    with pytest.raises(UploadError) as caught:
        parse(text, **kwargs)
    assert str(caught.value).startswith("'idle.1.csv'")
    return caught.value


def test_header_names_units_and_interval() -> None:
    sample = parse("timestamp,accX (m/s2),accY [g],gyrZ\n0,1,2,3\n20,4,5,6\n40,7,8,9\n")
    assert sample.sensors == [("accX", "m/s2"), ("accY", "g"), ("gyrZ", "N/A")]
    assert sample.interval_ms == 20.0
    assert sample.values.dtype == np.float32 and sample.values.flags.c_contiguous
    np.testing.assert_array_equal(sample.values, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert sample.format == "csv" and sample.label_from_name == "idle"


def test_timestamp_column_anywhere_with_unit_and_other_delimiters() -> None:
    sample = parse("a;Timestamp (ms);b\r\n1;100;2\r\n3;110;4\r\n")
    assert sample.sensors == [("a", "N/A"), ("b", "N/A")]
    assert sample.interval_ms == 10.0
    np.testing.assert_array_equal(sample.values, [[1, 2], [3, 4]])
    tabbed = parse("\ufefftimestamp\tx\n0\t1.5\n5\t2.5\n")
    assert tabbed.interval_ms == 5.0 and tabbed.sensors == [("x", "N/A")]


def test_quoted_fields_spaces_and_trailing_blank_lines() -> None:
    sample = parse('"timestamp","x"\n"0", 1 \n"10","2"\n\n\n')
    np.testing.assert_array_equal(sample.values[:, 0], [1, 2])


def test_integer_millisecond_rounding_is_regular() -> None:
    times = np.round(np.arange(61) * 1000 / 60).astype(int)  # 0, 17, 33, 50, ...
    text = "timestamp,x\n" + "".join(f"{t},{i}\n" for i, t in enumerate(times))
    sample = parse(text)
    assert sample.interval_ms == pytest.approx(1000 / 60)
    assert sample.values.shape == (61, 1)


def test_irregular_timestamps_are_refused_at_the_gap() -> None:
    error = refusal("timestamp,x\n0,1\n10,2\n20,3\n40,4\n50,5\n")
    assert error.line == 5 and error.field == "timestamp"
    assert "irregular" in error.message and "resampling" in error.message


def test_irregular_timestamps_can_be_resampled() -> None:
    sample = parse(
        "timestamp,x,y\n0,0,10\n10,1,11\n20,2,12\n40,4,14\n50,5,15\n", csv_irregular="resample"
    )
    assert sample.interval_ms == 10.0
    np.testing.assert_allclose(sample.values[:, 0], [0, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(sample.values[:, 1], [10, 11, 12, 13, 14, 15])


@pytest.mark.parametrize("mode", ["reject", "resample"])
def test_timestamps_must_increase(mode: str) -> None:
    error = refusal("timestamp,x\n0,1\n10,2\n10,3\n", csv_irregular=mode)
    assert error.line == 4 and "does not increase" in error.message


@pytest.mark.parametrize(
    ("text", "line", "field", "needle"),
    [
        ("timestamp,x,y\n0,1,2\n10,1\n", 3, None, "2 fields, the header has 3"),
        ("timestamp,x\n0,1\n10,1,5\n", 3, None, "3 fields"),
        ("timestamp,x\n0,1\n10,abc\n", 3, "x", "'abc' is not a number"),
        ("timestamp,x\n0,1\n10,\n", 3, "x", "'' is not a number"),
        ("timestamp,x\n0,nan\n10,1\n", 2, "x", "not a finite number"),
        ("timestamp,x\n0,1\n10,-inf\n", 3, "x", "not a finite number"),
        ("timestamp,x\n0,1\n10,1e40\n", 3, "x", "outside float32"),
        ("timestamp,x\n0,1\n\n10,2\n20,3\n", 3, None, "empty line"),
        ("timestamp,x\n0,1\nten,2\n", 3, "timestamp", "'ten' is not a number"),
        ("x,y\n0,1\n", 1, "timestamp", "no 'timestamp' column"),
        ("timestamp\n0\n10\n", 1, None, "no sensor column"),
        ("timestamp,x,x\n0,1,2\n", 1, "x", "duplicate column"),
        ("timestamp,,y\n0,1,2\n", 1, None, "has no name"),
        ("timestamp,TIMESTAMP,y\n0,1,2\n", 1, None, "two 'timestamp' columns"),
        ("timestamp,x\n", 2, None, "no rows"),
        ("timestamp,x\n0,1\n", 2, None, "at least two rows"),
        ("\ntimestamp,x\n0,1\n", 1, None, "first line must be the header"),
    ],
)
def test_bad_csv_names_line_and_field(text: str, line: int, field: str | None, needle: str) -> None:
    error = refusal(text)
    assert error.line == line, str(error)
    assert error.field == field, str(error)
    assert needle in error.message, str(error)
    assert f"line {line}" in str(error)


def test_not_utf8_names_the_line() -> None:
    with pytest.raises(UploadError, match="not UTF-8") as caught:
        parse_upload("idle.csv", None, b"timestamp,x\n0,1\n10,\xff\n", hmac_key=None, limits=LIMITS)
    assert caught.value.line == 3


def test_too_many_axes_is_413() -> None:
    header = "timestamp," + ",".join(f"a{i}" for i in range(5))
    with pytest.raises(UploadError, match="limit of 4") as caught:
        parse_upload(
            "idle.csv",
            None,
            (header + "\n0,1,2,3,4,5\n").encode(),
            hmac_key=None,
            limits=UploadLimits(max_axes=4),
        )
    assert caught.value.http_status == 413 and caught.value.line == 1


def test_errors_in_later_blocks_keep_exact_line_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small blocks force many block boundaries through the fast path before the bad line.
    monkeypatch.setattr(csv_format, "BLOCK_BYTES", 64)
    rows = [f"{i * 10},{i},{-i}" for i in range(500)]
    rows[377] = "3770,1,oops"
    text = "timestamp,x,y\n" + "\n".join(rows) + "\n"
    error = refusal(text)
    assert (error.line, error.field) == (379, "y")
    good = "timestamp,x,y\n" + "\n".join(f"{i * 10},{i},{-i}" for i in range(500))
    sample = parse_upload("idle.csv", None, io.BytesIO(good.encode()), hmac_key=None, limits=LIMITS)
    np.testing.assert_array_equal(sample.values[:, 0], np.arange(500))
    np.testing.assert_array_equal(sample.values[:, 1], -np.arange(500))


def test_the_bundled_basic_motions_files_parse() -> None:
    files = sorted((DEMO / "training").glob("*.csv")) + sorted((DEMO / "testing").glob("*.csv"))
    assert len(files) == 80
    labels = set()
    for path in files:
        sample = parse_upload(path.name, None, path.read_bytes(), hmac_key=None, limits=LIMITS)
        assert sample.values.shape == (100, 6)
        assert sample.interval_ms == 100.0
        assert [name for name, _ in sample.sensors] == [
            "accX",
            "accY",
            "accZ",
            "gyrX",
            "gyrY",
            "gyrZ",
        ]
        labels.add(sample.label_from_name)
    assert labels == {"badminton", "running", "standing", "walking"}


def test_overlong_lines_are_refused_without_reading_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csv_format, "BLOCK_BYTES", 64)
    monkeypatch.setattr(csv_format, "MAX_LINE_BYTES", 200)
    error = refusal("timestamp," + "x" * 1000 + "\n0,1\n")
    assert (error.line, error.message) == (1, "the header line is too long")
    error = refusal("timestamp,x\n0,1\n10," + "1" * 1000 + "\n")
    assert error.line == 3 and "too long" in error.message


def test_binary_junk_is_refused() -> None:
    error = refusal("timestamp,x\n0,1\n10,\x01\x02\x03\n")
    assert error.line == 3 and error.field == "x"
