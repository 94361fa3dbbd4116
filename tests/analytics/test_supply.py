"""Supply schedule by hand, and block height counted from the recorded network history."""

import pytest

from capitulation.analytics.supply import estimated_height, supply_at_height
from capitulation.errors import DataError


def test_supply_by_hand():
    assert supply_at_height(0) == 0
    assert supply_at_height(1) == 50
    assert supply_at_height(210_000) == 10_500_000
    # four full eras: 210,000 x (50 + 25 + 12.5 + 6.25) = 19,687,500; then 3.125 per block
    assert supply_at_height(840_000) == 19_687_500
    assert supply_at_height(935_000) == 19_687_500 + 95_000 * 3.125
    assert supply_at_height(10**8) == pytest.approx(20_999_999.9769, abs=1e-4)  # the 21M cap, in satoshis
    with pytest.raises(DataError):
        supply_at_height(-1)


def test_height_counted_from_the_recorded_history_lands_on_the_halvings(recorded_full):
    net = recorded_full.tables["btc_network"]
    for day, halving in (("2016-07-09", 420_000), ("2024-04-20", 840_000)):
        h = estimated_height(net[net["date"] <= day])
        # the halving block was mined that day: the count at the day's end is within a day's blocks (+0.1 %)
        assert halving <= h <= halving * 1.001


def test_a_history_not_starting_at_genesis_cannot_count_blocks(recorded_full):
    net = recorded_full.tables["btc_network"]
    with pytest.raises(DataError, match="genesis"):
        estimated_height(net[net["date"] >= "2020-01-01"])
