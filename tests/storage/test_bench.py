"""The benchmark functions stay callable (tiny counts; the figures themselves are not asserted)."""

from __future__ import annotations

from pathlib import Path

from storage.bench import decrypt_export_seconds, main, size_overhead, store_rate


def test_bench_functions_run(tmp_path: Path) -> None:
    assert store_rate(3, 2, folder=tmp_path) > 0
    assert decrypt_export_seconds(5, folder=tmp_path) > 0
    rows = size_overhead((10, 5000))
    assert rows[0]["envelope_bytes"] < rows[1]["envelope_bytes"]


def test_bench_sizes_only_leak_the_bucket() -> None:
    [small, larger] = size_overhead((10, 500))
    assert small["envelope_bytes"] == larger["envelope_bytes"]


def test_bench_help_starts_nothing(capsys: object) -> None:
    import pytest

    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
