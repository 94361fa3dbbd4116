"""Bitcoin supply from the protocol schedule, and block height estimated from the network history.

    supply(h) = sum over blocks 0..h-1 of the subsidy (50 BTC halved every 210,000 blocks), in BTC
    blocks on a day = hashrate (H/s) x 86,400 / (difficulty x 2^32)       (expected blocks at that work)
    height(date) ~ cumulative blocks per day since the genesis block (2009-01-03)

blockchain.com derives its daily hashrate from the day's block count, so the estimate counts blocks
(within ~0.05 % of the real height in the recorded history); days with no data count as 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitulation.analytics.mining import HALVING_INTERVAL
from capitulation.errors import DataError

GENESIS = pd.Timestamp("2009-01-03", tz="UTC")
SATOSHI = 100_000_000


def supply_at_height(height: int) -> float:
    """BTC issued by blocks 0..height-1 (exact, in whole satoshis per block as the protocol pays)."""
    if height < 0:
        raise DataError(f"block height must be non-negative, got {height}")
    sats, era = 0, 0
    while height > 0 and era < 64:
        n = min(height, HALVING_INTERVAL)
        sats += n * ((50 * SATOSHI) >> era)
        height -= n
        era += 1
    return sats / SATOSHI


def estimated_height(network: pd.DataFrame) -> int:
    """Block height at the last row of a `btc_network` table that starts at the genesis block."""
    if network.empty or network["date"].min() > GENESIS:
        raise DataError("btc_network: the history must start at the genesis block (2009-01-03) to count blocks")
    blocks = network["hashrate_ehs"] * 1e18 * 86_400 / (network["difficulty"] * 2.0**32)
    return round(float(np.nansum(blocks.where(np.isfinite(blocks)))))
