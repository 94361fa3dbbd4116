"""A Snapshot from a folder of recorded public data laid out like shared/data.

Sub-folders read (absent files are skipped with a log line, so a table with no data is simply absent; a
directory or a broken symlink where a file belongs is an error naming it, `_files.present`):

    deribit_options/*.csv            -> option_quotes   (sources.deribit.read_chain_csv)
    prices_daily/*.csv               -> daily_prices    (+ macro/vix.csv, macro/dxy.csv as VIX/DXY,
    macro/, treasury_companies/*.json                      + dat-tracker USD price JSONs for tickers
                                                           not already given by prices_daily/)
    derivatives_oi_funding/          -> perp_metrics    (open_interest.csv, coinglass_futures_oi_agg_1d.csv,
                                                         binance_btcusdt_oi_8h_*.csv, funding_rates.csv,
                                                         bmp_fr_average.json)
    bitcoin_network/                 -> btc_network     (hashrate.csv + difficulty.csv, fees from
                                                         coinmetrics.csv then btc_total_fees.csv)
    treasury_companies/              -> treasury_companies (8k-summary.json, numerical-snapshot.json),
                                        treasury_instruments (numerical-snapshot.json), with the
                                        capital-stack TOML merged (company rows, coupons) and forming
                                        treasury_charges; see `_stack`
    sectors/                         -> sector_returns  (quantbai_returns.parquet + quantbai_sector.csv)
    etf_flows/farside*.json, farside_total*.csv -> etf_flows (per fund, then the daily total: merge_flows)
    volatility_index/*.csv           -> vol_index       (DVOL files merged: vol_index.merge_dvol)
    onchain_costbasis/*.json         -> onchain         (sources.onchain: BMP cost bases, checkonchain SOPR)
    liquidations/                    -> liquidations    (coinglass_liquidation_agg_1d.csv as 'aggregate',
                                                         hl_stats_daily_notional_liquidated_by_coin.json as
                                                         'hyperliquid'; sources.liquidations)
                                     -> long_short_ratios (coinglass_long_short_all_1d.csv)

Several files of one table are concatenated under one Provenance (`_files.combine`). Not read:
btc_block_rewards.csv and btc_mean_hash_rate.csv (the halving schedule and hashrate.csv cover them),
macro/fear_greed.csv and treasury_companies/crypto-prices.json (no table for them),
sec-shares-data.json and btc-events*.json (see sources.treasuries), the crypto-sector-board snapshots
(2026-05..08 CoinGecko 24h returns, simple not log; quantbai covers the sectors) and api_fixtures/.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance, Snapshot
from capitulation.sources import (
    deribit,
    derivatives,
    etf_flows,
    liquidations,
    network,
    onchain,
    prices,
    sectors,
    treasuries,
    vol_index,
)
from capitulation.sources._files import combine, present, read_json
from capitulation.sources.cache import TableCache, content_hash
from capitulation.sources.inputs import CHAIN_TIMESTAMPS, TABLE_INPUTS

log = logging.getLogger(__name__)

DEFAULT_AS_OF = "2026-02-05T23:59:59Z"
"""End of 2026-02-05 UTC, the capitulation day of the recorded data (BTC-USD closed 62,702, MSTR 106.99,
DVOL closed 82.62): the monitor's reference date."""

Part = tuple[pd.DataFrame, Provenance]


def build_snapshot(
    data_dir: str | Path,
    as_of: str | pd.Timestamp | None = None,
    *,
    chain_timestamps: Mapping[str, str] | None = None,
    stack: str | Path | None = None,
    cache: TableCache | None = None,
) -> Snapshot:
    """Every table found under `data_dir`, cut at `as_of` (default `DEFAULT_AS_OF`): no row after it.

    `as_of` is read as everywhere (`timeutil.parse_as_of`): a bare date, "2026-02-05" or a `datetime.date`,
    is the end of that UTC day, as `--as-of 2026-02-05` on the command line; a time keeps its clock (naive
    = UTC).

    `chain_timestamps` adds quote times for chain files without a `date` column (file name -> UTC time);
    `stack`: the capital-stack TOML merged over the treasury data (default: the bundled one);
    `cache`: where parsed tables are kept between runs (`sources.cache`; None: parse every file).
    `SourceError` when `data_dir` is missing or holds none of the recorded files; `DataError` from the
    importers when a file is malformed.
    """
    return snapshot_of(load_tables(data_dir, chain_timestamps=chain_timestamps, stack=stack, cache=cache), as_of)


def snapshot_of(found: Mapping[str, Part], as_of: str | pd.Timestamp | None = None) -> Snapshot:
    """The Snapshot of loaded tables (`load_tables`), validated and cut at `as_of` (default `DEFAULT_AS_OF`)."""
    cut = DEFAULT_AS_OF if as_of is None else as_of
    frames = {name: df for name, (df, _) in found.items()}
    provs = {name: prov for name, (_, prov) in found.items()}
    return Snapshot(cut, frames, provs).upto(cut)


def load_tables(
    data_dir: str | Path,
    *,
    chain_timestamps: Mapping[str, str] | None = None,
    stack: str | Path | None = None,
    tables: Collection[str] | None = None,
    cache: TableCache | None = None,
) -> dict[str, Part]:
    """Every table found under `data_dir`, uncut, each with one Provenance (`stack`, `cache`: see
    `build_snapshot`).

    `tables`: only these (default: all, and `SourceError` when none is found)."""
    root = Path(data_dir)
    hint = "point --data at a folder of recorded data such as ../shared/data"
    if not root.is_dir():
        raise SourceError(f"data folder not found: {root}; {hint}")
    stamps = {**CHAIN_TIMESTAMPS, **(chain_timestamps or {})}
    loaders = table_loaders(stamps, stack)
    out: dict[str, Part] = {}
    for name, load in loaders.items():
        if tables is not None and name not in tables:
            continue
        if cache is None:
            part = load(root)
        else:
            salt = _salt(name, stamps, stack)
            part = cache.load(name, root, TABLE_INPUTS[name], salt, lambda load=load: load(root))
        if part is None or part[0].empty:
            log.info("%s: no data found under %s; table absent", name, root)
        else:
            out[name] = part
    if not out and tables is None:
        raise SourceError(f"no recorded data found under {root}; {hint}")
    return out


def table_loaders(stamps: Mapping[str, str], stack: str | Path | None) -> dict[str, Callable[[Path], Part | None]]:
    """The reader of each table: data folder -> its rows and provenance, or None (`stamps`: chain quote
    times by file name; `stack`: see `build_snapshot`)."""
    return {
        "option_quotes": lambda r: _options(r / "deribit_options", stamps),
        "daily_prices": _daily_prices,
        "perp_metrics": _perp_metrics,
        "btc_network": _btc_network,
        "treasury_companies": lambda r: _treasuries(r, stack),
        "treasury_instruments": lambda r: _instruments(r, stack),
        "treasury_charges": lambda r: _charges(r, stack),
        "sector_returns": _sectors,
        "etf_flows": _etf_flows,
        "vol_index": _vol_index,
        "onchain": lambda r: onchain.read_onchain_folder(r / "onchain_costbasis"),
        "liquidations": _liquidations,
        "long_short_ratios": _long_short_ratios,
    }


def _salt(name: str, stamps: Mapping[str, str], stack: str | Path | None) -> str:
    """What else decides a table's parse: the chain quote times, the capital-stack file (its path, named in
    the rows, and its content)."""
    if name == "option_quotes":
        return json.dumps(sorted(stamps.items()))
    if name.startswith("treasury_") and stack is not None:
        return f"{Path(stack).resolve()} {content_hash(Path(stack))}"
    return ""


def _gather(parts: list[Part]) -> Part | None:
    if not parts:
        return None
    return pd.concat([df for df, _ in parts], ignore_index=True), combine(p for _, p in parts)


def _first_glob(folder: Path, pattern: str, read: Callable[[Path], Part]) -> Part | None:
    files = sorted(folder.glob(pattern))
    if not files:
        log.info("no %s under %s, skipped", pattern, folder)
        return None
    return _gather([read(f) for f in files])


def _options(folder: Path, stamps: Mapping[str, str]) -> Part | None:
    files = sorted(folder.glob("*.csv"))
    return _gather([deribit.read_chain_csv(f, stamps.get(f.name)) for f in files])


def _daily_prices(root: Path) -> Part | None:
    parts: list[Part] = []
    folder = root / "prices_daily"
    if any(folder.glob("*.csv")):
        parts.append(prices.read_prices_folder(folder))
    for name in ("vix.csv", "dxy.csv"):
        if present(root / "macro" / name):
            parts.append(prices.read_macro_csv(root / "macro" / name))
    for f in sorted((root / "treasury_companies").glob("*.json")):
        doc = read_json(f)
        if not (isinstance(doc, dict) and "ticker" in doc and isinstance(doc.get("prices"), list)):
            continue
        if doc.get("currency", "USD") != "USD":
            log.info("%s: prices in %s, not USD; skipped", f, doc.get("currency"))
            continue
        parts.append(prices.read_ohlcv_json(f))
    return prices.concat_prices(parts) if parts else None


def _perp_metrics(root: Path) -> Part | None:
    d = root / "derivatives_oi_funding"
    parts: list[Part] = []
    if present(d / "open_interest.csv"):
        parts.append(derivatives.read_aggregate_oi(d / "open_interest.csv"))
    if present(d / "coinglass_futures_oi_agg_1d.csv"):
        parts.append(derivatives.read_coinglass_oi(d / "coinglass_futures_oi_agg_1d.csv"))
    parts += [derivatives.read_binance_oi(f) for f in sorted(d.glob("binance_btcusdt_oi_8h_*.csv"))]
    if present(d / "funding_rates.csv"):
        parts.append(derivatives.read_daily_funding(d / "funding_rates.csv"))
    if present(d / "bmp_fr_average.json"):
        parts.append(derivatives.read_funding_average(d / "bmp_fr_average.json"))
    got = _gather(parts)
    if got is None:
        return None
    df, prov = got
    # Binance OI (8h grid) and daily funding share the 00:00 UTC stamps: one row per key, first non-null
    # value of each column.
    keys = ["timestamp", "venue", "symbol"]
    merged = df.groupby(keys, sort=True, dropna=False).first().reset_index()[df.columns]
    return merged, replace(prov, notes=f"{prov.notes} | {_perp_overlaps(merged)}")


def _daily(perps: pd.DataFrame, venue: str, symbol: str, column: str) -> pd.Series:
    """One perp_metrics series by UTC day (the last value of each day)."""
    rows = perps[(perps["venue"] == venue) & (perps["symbol"] == symbol)].dropna(subset=[column])
    s = rows.set_index(rows["timestamp"].dt.floor("D"))[column]
    return s[~s.index.duplicated(keep="last")]


def _perp_overlaps(perps: pd.DataFrame) -> str:
    """How the overlapping perp series agree, and which one each consumer prefers where."""
    cq, cg = _daily(perps, "aggregate", "BTC-ALL", "oi_usd"), _daily(perps, "aggregate", "BTC-CG", "oi_usd")
    notes = ["overlaps:"]
    both = pd.concat({"cq": np.log(cq).diff(), "cg": np.log(cg).diff()}, axis=1, sort=True).dropna()
    if len(both) >= 30:
        level = (cg / cq).dropna()
        notes.append(
            f"aggregate OI BTC-CG (CoinGlass) vs BTC-ALL on {len(both)} common days: daily changes correlate "
            f"{both['cg'].corr(both['cq']):.2f}, CoinGlass's level is {level.median():.2f}x (range "
            f"{level.min():.2f}-{level.max():.2f}x: wider venue coverage), so the two are never spliced; "
            "an OI history uses one series per window, preferring Binance's own BTC OI where fresh, then "
            "BTC-CG, then BTC-ALL (analytics.events.OI_PRIORITY)."
        )
    cal = derivatives.funding_calibration(
        _daily(perps, "aggregate", "BTC-FR-AVG", "funding_rate"), _daily(perps, "binance", "BTCUSDT", "funding_rate")
    )
    if cal is not None:
        notes.append(
            f"BTC-FR-AVG vs Binance BTCUSDT daily mean funding: {cal.describe()}: both are fractions per 8h; "
            "Binance's own funding is preferred where fresh, the average after it stops."
        )
    return " ".join(notes)


def _etf_flows(root: Path) -> Part | None:
    d = root / "etf_flows"
    per_fund = _first_glob(d, "farside*.json", etf_flows.read_farside_json)
    total = _first_glob(d, "farside_total*.csv", etf_flows.read_farside_total_csv)
    if per_fund is None or total is None:
        return per_fund or total
    return etf_flows.merge_flows(per_fund, total)


def _vol_index(root: Path) -> Part | None:
    files = sorted((root / "volatility_index").glob("*.csv"))
    return vol_index.merge_dvol([vol_index.read_dvol_csv(f) for f in files]) if files else None


def _btc_network(root: Path) -> Part | None:
    d = root / "bitcoin_network"
    if not all([present(d / "hashrate.csv"), present(d / "difficulty.csv")]):  # a list: both checked
        return None
    fees = [d / n for n in ("coinmetrics.csv", "btc_total_fees.csv") if present(d / n)]
    return network.read_btc_network(d / "hashrate.csv", d / "difficulty.csv", fees)


TREASURY_FILES = ("8k-summary.json", "numerical-snapshot.json")


def _stack(root: Path, stack: str | Path | None) -> treasuries.StackFile | None:
    """The capital-stack file (`stack`, default the bundled one), only where `root` holds treasury data:
    it corrects and completes the recorded treasury tables, and alone would make a folder of anything else
    look like treasury data."""
    if not any([present(root / "treasury_companies" / f) for f in TREASURY_FILES]):
        return None
    return treasuries.read_stack_file(treasuries.BUNDLED_STACK_FILE if stack is None else stack)


def _treasuries(root: Path, stack: str | Path | None) -> Part | None:
    d = root / "treasury_companies"
    parts: list[Part] = []
    if present(d / "8k-summary.json"):
        parts.append(treasuries.read_mstr_8k_summary(d / "8k-summary.json"))
    if present(d / "numerical-snapshot.json"):
        parts.append(treasuries.read_numerical_snapshot(d / "numerical-snapshot.json"))
    sf = _stack(root, stack)
    if sf is not None and not sf.companies.empty:
        parts.append((sf.companies, sf.provenance))  # last: wins ties on as_of (`signals.treasury.latest_rows`)
    return _gather(parts)


def _instruments(root: Path, stack: str | Path | None) -> Part | None:
    f = root / "treasury_companies" / "numerical-snapshot.json"
    if not present(f):
        return None
    inst, prov = treasuries.read_dilutive_instruments(f)
    sf = _stack(root, stack)
    if sf is None or sf.coupons.empty:
        return inst, prov
    try:
        return treasuries.attach_coupons(inst, sf.coupons), combine([prov, sf.provenance])
    except DataError as exc:
        raise DataError(f"{sf.provenance.source}: {exc} (instruments read from {f})") from None


def _charges(root: Path, stack: str | Path | None) -> Part | None:
    sf = _stack(root, stack)
    return None if sf is None else (sf.charges, sf.provenance)


def _sectors(root: Path) -> Part | None:
    d = root / "sectors"
    if not all([present(d / "quantbai_returns.parquet"), present(d / "quantbai_sector.csv")]):
        return None
    return sectors.read_quantbai_sectors(d / "quantbai_returns.parquet", d / "quantbai_sector.csv")


LIQUIDATION_FILES: dict[str, Callable[[Path], Part]] = {
    "coinglass_liquidation_agg_1d.csv": liquidations.read_coinglass_liquidations,
    "hl_stats_daily_notional_liquidated_by_coin.json": liquidations.read_hyperliquid_liquidations,
}


def _liquidations(root: Path) -> Part | None:
    d = root / "liquidations"
    return _gather([read(d / name) for name, read in LIQUIDATION_FILES.items() if present(d / name)])


def _long_short_ratios(root: Path) -> Part | None:
    f = root / "liquidations" / "coinglass_long_short_all_1d.csv"
    return liquidations.read_coinglass_long_short(f) if present(f) else None
