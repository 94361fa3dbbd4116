"""The history store's folders, known without loading the store (pandas, DuckDB): its default root, the
partition of a table's day, and the files of a day with their stats, which `cli.documents` compares to say
the store still holds what a run stored."""

from __future__ import annotations

from pathlib import Path

import platformdirs

FileStamp = tuple[int, int, int]  # inode, size in bytes, mtime in ns


def default_root() -> Path:
    """The platform's user data dir for capitulation (e.g. ~/.local/share/capitulation/history)."""
    return Path(platformdirs.user_data_dir("capitulation")) / "history"


def partition(root: Path, table: str, day: str) -> Path:
    """The folder of `table`'s files for the as_of day `day` (YYYY-MM-DD, UTC)."""
    return root / f"table={table}" / f"as_of_date={day}"


def day_files(root: Path, day: str) -> dict[str, FileStamp]:
    """Every Parquet file of every table on the as_of day `day` (tables, commit records, verdicts; not the
    temporary dotfiles of a running writer), by path relative to `root`, with its inode, size and mtime: a
    file written, replaced, quarantined or removed changes it."""
    out: dict[str, FileStamp] = {}
    for path in sorted(root.glob(f"table=*/as_of_date={day}/*.parquet")):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        out[path.relative_to(root).as_posix()] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out
