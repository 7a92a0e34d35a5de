"""Reading transaction logs: formats, columns, dates, the same-day merge, returns, bad input."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration.datasets import cdnow_path
from calibration.summary import check_fittable, summarise
from calibration.transactions import read_transactions
from sim.errors import DataError, UserError

# the published per-customer CDNOW summary (from the shared data set), kept beside the tests
REFERENCE = Path(__file__).parent / "data"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- CDNOW


def test_shipped_cdnow_file_is_readable():
    path = cdnow_path()
    assert path.exists() and path.name == "CDNOW_sample.txt"
    assert (path.parent / "README.md").exists()


def test_cdnow_is_detected_and_merged():
    log = read_transactions(cdnow_path())
    assert log.columns == {"customer": "sample_id", "date": "date", "amount": "dollar_value"}
    assert log.rows_read == 6919
    assert log.n_customers == 2357
    assert log.n_transactions == 6696          # 223 same-day rows merged


def test_cdnow_summary_matches_the_published_summary():
    summary = summarise(read_transactions(cdnow_path()), calibration_end="1997-09-30")
    ours = summary.customers
    assert summary.n_customers == 2357
    assert summary.repeat_transactions == 2457
    assert int((ours["frequency"] > 0).sum()) == 946
    assert int(ours["holdout_frequency"].sum()) == 1882
    assert int(ours.loc[ours["frequency"] == 0, "holdout_frequency"].sum()) == 334
    ref = pd.read_csv(REFERENCE / "cdnow_customers_summary_with_transactions.csv").set_index("ID")
    assert (ours["frequency"].to_numpy() == ref["x"].to_numpy()).all()
    # the reference is rounded to 2 decimals
    assert np.abs(ours["recency"].to_numpy() - ref["t_x"].to_numpy()).max() <= 0.005
    assert np.abs(ours["T"].to_numpy() - ref["T"].to_numpy()).max() <= 0.005
    assert np.abs(ours["monetary_value"].to_numpy() - ref["zbar"].to_numpy()).max() <= 0.005 + 1e-9


def test_time_units_scale_times():
    log = read_transactions(cdnow_path())
    weeks = summarise(log, calibration_end="1997-09-30")
    days = summarise(log, calibration_end="1997-09-30", time_unit="day")
    assert np.allclose(days.T, weeks.T * 7)
    assert days.customers.loc[1, "T"] == 272            # 1997-01-01 to 1997-09-30


# ----------------------------------------------------------------------------- merge and returns


def test_two_same_day_rows_are_one_transaction(tmp_path):
    path = write(tmp_path, "orders.csv", "customer,date,amount\n7,2024-01-05,10\n7,2024-01-05,15.5\n7,2024-02-01,20\n")
    log = read_transactions(path)
    assert log.n_transactions == 2
    assert log.orders["amount"].tolist() == [25.5, 20.0]
    assert log.rows_merged == 1


RETURNS_LOG = (
    "customer,date,amount\n"
    "1,2024-01-01,100\n1,2024-01-01,-30\n"       # purchase and partial return: net 70
    "1,2024-01-02,-20\n"                          # return with no purchase that day
    "1,2024-01-03,50\n1,2024-01-03,-50\n"         # fully returned
    "1,2024-01-04,0\n"                            # free order
    "1,2024-01-05,40\n"
)


def test_returns_net_default(tmp_path):
    log = read_transactions(write(tmp_path, "r.csv", RETURNS_LOG))
    assert log.orders["date"].dt.day.tolist() == [1, 4, 5]
    assert log.orders["amount"].tolist() == [70.0, 0.0, 40.0]
    assert log.return_rows == 3 and log.nonpositive_days_dropped == 2


def test_returns_net_drop_zero(tmp_path):
    log = read_transactions(write(tmp_path, "r.csv", RETURNS_LOG), returns="net-drop-zero")
    assert log.orders["amount"].tolist() == [70.0, 40.0]
    assert log.zero_rows_dropped == 1


def test_returns_ignore(tmp_path):
    log = read_transactions(write(tmp_path, "r.csv", RETURNS_LOG), returns="ignore")
    assert log.orders["amount"].tolist() == [100.0, 50.0, 0.0, 40.0]


def test_returns_error(tmp_path):
    with pytest.raises(DataError, match=r"r\.csv: column 'amount': data row 2, value '-30(\.0)?' is negative"):
        read_transactions(write(tmp_path, "r.csv", RETURNS_LOG), returns="error")


def test_unknown_returns_policy():
    with pytest.raises(DataError, match="--returns: 'keep' is not a returns policy; allowed: net"):
        read_transactions(cdnow_path(), returns="keep")


# ----------------------------------------------------------------------------- formats, columns, dates


def test_guessed_columns_and_currency_amounts(tmp_path):
    text = "Order Date;Customer ID;Store;Total\n03/01/2024;a;x;\"$1,200.50\"\n15/01/2024;a;x;€30\n"
    log = read_transactions(write(tmp_path, "shop.csv", text))
    assert log.columns == {"customer": "Customer ID", "date": "Order Date", "amount": "Total"}
    assert log.orders["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-03", "2024-01-15"]   # day first
    assert log.orders["amount"].tolist() == [1200.5, 30.0]


def test_month_first_dates_are_inferred(tmp_path):
    log = read_transactions(write(tmp_path, "us.csv", "customer,date,amount\n1,01/03/2024,5\n1,01/15/2024,5\n"))
    assert log.orders["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-03", "2024-01-15"]


def test_ambiguous_dates_ask_for_a_format(tmp_path):
    path = write(tmp_path, "amb.csv", "customer,date,amount\n1,01/03/2024,5\n1,02/03/2024,5\n")
    with pytest.raises(DataError, match=r"amb\.csv: column 'date'.*--date-format '%d/%m/%Y' or '%m/%d/%Y'"):
        read_transactions(path)
    log = read_transactions(path, date_format="%d/%m/%Y")
    assert log.orders["date"].dt.month.tolist() == [3, 3]


def test_explicit_columns_and_iso_timestamps(tmp_path):
    text = "id,when,basket,value\n1,2024-01-01T10:00:00,3,5\n1,2024-01-01T18:30:00,1,7\n2,2024-02-01 09:00,1,1\n"
    log = read_transactions(write(tmp_path, "t.csv", text), customer_col="id", date_col="when", amount_col="value")
    assert log.n_transactions == 2 and log.orders["amount"].tolist() == [12.0, 1.0]


def test_parquet_with_datetimes(tmp_path):
    frame = pd.DataFrame({"user_id": [1, 1, 2], "ts": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-02"]),
                          "revenue": [1.0, 2.0, 3.0]})
    frame.to_parquet(tmp_path / "log.parquet")
    log = read_transactions(tmp_path / "log.parquet")
    assert log.n_transactions == 3 and log.n_customers == 2


def test_headerless_three_columns(tmp_path):
    log = read_transactions(write(tmp_path, "plain.txt", "17 20240101 9.5\n17 20240301 3\n"))
    assert log.n_transactions == 2 and log.orders["customer"].iloc[0] == "17"


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "name, text, kwargs, message",
    [
        ("missing.csv", None, {}, r"missing\.csv: file not found"),
        ("empty.csv", "", {}, r"empty\.csv: is empty"),
        ("binary.csv", "\x00\x01\x02garbage\x00", {}, r"binary\.csv: .*binary"),
        ("cols.csv", "a,b,c\n1,2,3\n", {"customer_col": "client"},
         r"cols\.csv: column 'client' \(--customer-col\) not found; the columns are: a, b, c"),
        ("nodate.csv", "customer,amount\n1,3\n", {},
         r"nodate\.csv: no date column found among: customer, amount; name it with --date-col"),
        ("dates.csv", "customer,date,amount\n1,2024-01-01,3\n1,yesterday,3\n", {},
         r"dates\.csv: column 'date': data row 2, value 'yesterday'"),
        ("fmt.csv", "customer,date,amount\n1,2024-01-01,3\n", {"date_format": "%d.%m.%Y"},
         r"fmt\.csv: column 'date': data row 1.*--date-format '%d\.%m\.%Y'"),
        ("amount.csv", "customer,date,amount\n1,2024-01-01,lots\n", {},
         r"amount\.csv: column 'amount': data row 1, value 'lots' is not a number"),
        ("negative.csv", "customer,date,amount\n1,2024-01-01,-3\n2,2024-01-02,-1\n", {},
         r"negative\.csv: column 'amount' has no positive amount"),
        ("nocust.csv", "customer,date,amount\n,2024-01-01,3\n", {},
         r"nocust\.csv: column 'customer': data row 1, value 'nan' is empty"),
        ("fields.txt", "1 2 3 4\n", {}, r"fields\.txt: has no header row and 4 fields per line"),
    ],
)
def test_bad_input_raises_data_error_naming_file_and_field(tmp_path, name, text, kwargs, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_transactions(path, **kwargs)


def test_unreadable_parquet(tmp_path):
    path = write(tmp_path, "broken.parquet", "this is not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet: cannot be read as Parquet"):
        read_transactions(path)


def test_data_error_is_a_user_error():
    assert issubclass(DataError, UserError)


def test_too_short_logs(tmp_path):
    few = write(tmp_path, "few.csv", "customer,date,amount\n" + "".join(f"{i},2024-01-0{1 + i % 5},3\n" for i in range(5)))
    with pytest.raises(DataError, match=r"few\.csv: only 5 customers .*at least 20 customers"):
        check_fittable(summarise(read_transactions(few)))
    once = write(tmp_path, "once.csv", "customer,date,amount\n" + "".join(f"{i},2024-01-{1 + i % 28:02d},3\n" for i in range(40)))
    with pytest.raises(DataError, match=r"once\.csv: only 0 customers bought more than once"):
        check_fittable(summarise(read_transactions(once)))


def test_calibration_end_outside_the_log():
    log = read_transactions(cdnow_path())
    with pytest.raises(DataError, match=r"--calibration-end: 1999-01-01 is outside the log .*1997-01-01 to 1998-06-30"):
        summarise(log, calibration_end="1999-01-01")
    with pytest.raises(DataError, match=r"--calibration-end: 'soon' is not a date"):
        summarise(log, calibration_end="soon")
    with pytest.raises(DataError, match=r"--time-unit: 'fortnight'"):
        summarise(log, time_unit="fortnight")
