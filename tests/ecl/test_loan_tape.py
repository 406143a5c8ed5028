"""Every column of the loan tape is checked; messages name the file, column, rows and fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import riskmodel as rm

REPO = Path(__file__).resolve().parents[2]
HEADER = "loan_id,segment,state,exposure"


@pytest.fixture(scope="module")
def ifrs9():
    return rm.load_scenario(REPO / "scenarios" / "ifrs9.yaml")


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "loans.csv"
    path.write_text(text)
    return path


def _fails(scenario, path, *needles, **kw):
    with pytest.raises(rm.PortfolioError) as info:
        rm.loan_ecl(scenario, path, **kw)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return message


GOOD = "a,mortgages,stage1,100\n"


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("loan_id,segment,state\n" + "a,mortgages,stage1\n", ["missing column(s) ['exposure']"]),
        (HEADER + ",maturty\n" + "a,mortgages,stage1,100,3\n", ["'maturty'", "maturity?"]),
        (
            HEADER + "\n" + GOOD + "b,mortgage,stage1,100\n",
            [
                "column 'segment'",
                "unknown segment 'mortgage'",
                "Did you mean 'mortgages'",
                "line 3",
                "loan 'b'",
            ],
        ),
        (
            HEADER + "\n" + "a,mortgages,repaid,100\n",
            ["column 'state'", "absorbing state 'repaid'", "line 2"],
        ),
        (
            HEADER + "\n" + GOOD + "b,mortgages,stage1,-1\nc,mortgages,stage1,-2\n",
            ["column 'exposure'", "must be >= 0", "line 3 (loan 'b'", "line 4 (loan 'c'"],
        ),
        (
            HEADER + "\n" + GOOD + "b,mortgages,stage1,1e3 EUR\n",
            ["column 'exposure'", "must be a number", "'1e3 EUR'"],
        ),
        (HEADER + "\n" + GOOD + "b,mortgages,stage1,\n", ["column 'exposure'", "is empty"]),
        (HEADER + "\n" + GOOD + "b,mortgages,stage1,inf\n", ["must be finite"]),
        (
            HEADER + "\n" + GOOD + ",mortgages,stage1,4\n",
            ["column 'loan_id'", "is empty", "line 3"],
        ),
        (HEADER + "\n" + GOOD + "a,consumer,stage1,4\n", ["'a'", "more than once", "line 3"]),
        (HEADER + ",maturity\n" + "a,mortgages,stage1,1,2.5\n", ["'maturity'", "whole number"]),
        (
            HEADER + ",maturity\n" + "a,mortgages,stage1,1,61\n",
            ["maturity 61 periods is beyond the scenario horizon of 60", "--truncate-maturity"],
        ),
        (
            HEADER + ",amortisation,instalment\n" + "a,mortgages,stage1,1,0.01,3\n",
            ["either `amortisation` or `instalment`"],
        ),
        (HEADER + ",amortisation\n" + "a,mortgages,stage1,1,1.5\n", ["'amortisation'", "<= 1"]),
        (HEADER + ",instalment\n" + "a,mortgages,stage1,1,-3\n", ["'instalment'", ">= 0"]),
        (HEADER + ",rate\n" + "a,mortgages,stage1,1,-1\n", ["'rate'", "> -1"]),
        (HEADER + ",lgd\n" + "a,mortgages,stage1,1,45\n", ["'lgd'", "in [0, 1]"]),
        (
            HEADER + ",origination_pd\n" + "a,mortgages,stage1,1,0\n",
            ["'origination_pd'", "in (0, 1]"],
        ),
        (HEADER + ",lgd\n" + "a,mortgages,stage1,1,True\n", ["'lgd'", "True/False"]),
        (HEADER + "\n", ["no loans"]),
        ("", ["empty"]),
    ],
)
def test_bad_tapes_are_refused_with_the_row_and_the_fix(ifrs9, tmp_path, text, needles):
    path = _csv(tmp_path, text)
    message = _fails(ifrs9, path, *needles)
    assert message.startswith(str(path)), message  # the file comes first


def test_a_repeated_id_is_found_across_chunks(ifrs9, tmp_path):
    rows = [f"L{i},mortgages,stage1,1\n" for i in range(50)] + ["L3,consumer,stage1,1\n"]
    path = _csv(tmp_path, HEADER + "\n" + "".join(rows))
    _fails(ifrs9, path, "'L3' appears more than once", "line 52", chunk_rows=7)


def test_a_bad_row_far_down_names_its_line(ifrs9, tmp_path):
    rows = [f"L{i},mortgages,stage1,1\n" for i in range(30)] + ["x,mortgages,stage9,1\n"]
    path = _csv(tmp_path, HEADER + "\n" + "".join(rows))
    _fails(ifrs9, path, "line 32", "unknown state 'stage9'", chunk_rows=8)


def test_maturities_past_the_horizon_may_be_truncated(ifrs9, tmp_path):
    path = _csv(
        tmp_path, HEADER + ",maturity\n" + "a,mortgages,stage1,100,90\nb,mortgages,stage1,100,\n"
    )
    out = rm.loan_ecl(ifrs9, path, truncate_maturity=True).loans
    assert out["periods"].tolist() == [60, 60]
    assert out["ecl_lifetime"].iloc[0] == out["ecl_lifetime"].iloc[1]


def test_a_dataframe_names_rows_and_missing_files_are_named(ifrs9, tmp_path):
    tape = pd.DataFrame(
        {"loan_id": ["a", "b"], "segment": "mortgages", "state": "stage1", "exposure": [1.0, -1.0]}
    )
    _fails(ifrs9, tape, "loan tape (DataFrame)", "row 2")
    _fails(ifrs9, tmp_path / "nope.csv", "nope.csv", "not found")
    with pytest.raises(rm.UnsafeFileError):
        rm.loan_ecl(ifrs9, tmp_path)  # a folder is not read
    with pytest.raises(rm.ArgumentError, match="`loans` must be a DataFrame"):
        rm.loan_ecl(ifrs9, 42)
    with pytest.raises(rm.ArgumentError, match="chunk_rows"):
        rm.loan_ecl(ifrs9, tape, chunk_rows=0)


def test_empty_optional_cells_take_the_scenarios_values(ifrs9, tmp_path):
    text = (
        HEADER
        + ",maturity,rate,lgd\n"
        + "a,mortgages,stage1,100,,,\nb,mortgages,stage1,100,60,0.003,0.25\n"
    )
    out = rm.loan_ecl(ifrs9, _csv(tmp_path, text)).loans
    # the scenario's discount rate is 0.003, its LGD 0.25 and its horizon 60: the same loan
    assert out["ecl_lifetime"].iloc[0] == pytest.approx(out["ecl_lifetime"].iloc[1], rel=1e-12)


def test_a_byte_order_mark_and_padded_names_are_read(ifrs9, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfloan_id, segment ,state,exposure \nA,mortgages,stage1 ,100\n")
    out = rm.loan_ecl(ifrs9, path).loans
    assert out["loan_id"].tolist() == ["A"] and out["state"].tolist() == ["stage1"]
    assert out["ecl_booked"].iloc[0] > 0
