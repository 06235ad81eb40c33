"""The CPU-throughput sections of PERFORMANCE.md (issue #29) on hand-made measurement files.

Asserted against hand-computed values: the `torch.compile` table's whole-run ratio (eager time of the study's
steps over compiled time plus compilation, compilation = the compiled arm's warm-up minus the eager arm's), a
configuration whose compiled arm failed is shown as failing and left out of the sum, and the A/B's wording
follows the recorded load (quiet vs shared machine).
"""

from __future__ import annotations

from typing import Any

from benchmarks.cpu_report import ab_section, compile_section

PROV = {"command": "python -m benchmarks.step_ab", "time_utc": "2026-12-07T00:00:00Z", "device": "cpu",
        "machine": {"load_average_1_5_15": [0.5, 0.5, 0.5]}, "versions": {"torch": "2.14.1"},
        "git_commit": "0123456789abcdef", "load_average_end_1_5_15": [0.6, 0.5, 0.5]}


def _compile_record() -> dict[str, Any]:
    ok = {"label": "dcgan", "steps": 8000, "ms_per_iteration": {"on_eager": 10.0, "on_compiled": 8.0},
          "warmup_s": {"on_eager": 0.5, "on_compiled": 16.5}, "ratio": 1.25}
    bad = {"label": "vae-gan", "steps": 4000, "error": "RuntimeError: modified by an inplace operation"}
    summary = {"configs": 1, "sum_ms_on_eager": 10.0, "sum_ms_on_compiled": 8.0, "ratio_summed": 1.25}
    return {**PROV, "rounds": 4, "per_round": 4, "groups": {"study": {"rows": [ok, bad], "summary": summary}}}


def test_compile_whole_run_ratio_includes_compilation() -> None:
    text = "\n".join(compile_section(_compile_record()))
    # 8,000 steps: eager 80 s; compiled 64 s + (16.5 - 0.5) s of compilation = 80 s → exactly 1.00
    assert "| dcgan | 8,000 | 10.0 | 8.0 | 1.25 | 16.0 | 1.00 |" in text
    assert "| vae-gan | 4,000 | — | fails | — | — | — |" in text
    assert "Summed over the 1 configurations" in text and "**1.25x**" in text
    assert "inplace operation" in text


def test_ab_wording_follows_the_recorded_load() -> None:
    row = {"label": "vae", "steps": 800, "ms_per_iteration": {"off": 12.0, "on": 10.0}, "ratio": 1.2,
           "gflop_per_iteration": 0.5, "gflops": {"off": 41.7, "on": 50.0}, "load_average_1": 0.7}
    summary = {"configs": 1, "sum_ms_off": 12.0, "sum_ms_on": 10.0, "ratio_summed": 1.2, "training_s_off": 9.6,
               "training_s_on": 8.0, "ratio_step_weighted": 1.2}
    rec = {**PROV, "rounds": 6, "per_round": 4, "threads": 1, "groups": {"study": {"rows": [row], "summary": summary}}}
    quiet = "\n".join(ab_section(rec, None))
    assert "Nothing else ran on the machine" in quiet and "**1.20x**" in quiet and "not met" in quiet
    row["load_average_1"] = 3.0
    loaded = "\n".join(ab_section(rec, None))
    assert "shared with other jobs" in loaded


def test_the_target_is_set_against_the_convolutions_own_time() -> None:
    rows = [{"label": "a", "steps": 100, "ms_per_iteration": {"off": 70.0, "on": 60.0}, "ratio": 70 / 60,
             "gflop_per_iteration": 1.0, "gflops": {"off": 14.3, "on": 16.7}, "load_average_1": 1.0},
            {"label": "b", "steps": 100, "ms_per_iteration": {"off": 70.0, "on": 60.0}, "ratio": 70 / 60,
             "gflop_per_iteration": 1.0, "gflops": {"off": 14.3, "on": 16.7}, "load_average_1": 1.0}]
    summary = {"configs": 2, "sum_ms_off": 140.0, "sum_ms_on": 120.0, "ratio_summed": 140 / 120,
               "training_s_off": 14.0, "training_s_on": 12.0, "ratio_step_weighted": 140 / 120}
    per_config = {"a": {"conv_seconds_alone": 0.040, "conv_mix_gflops": 25.0},
                  "b": {"conv_seconds_alone": 0.050, "conv_mix_gflops": 20.0}}
    peak = {"threads": {"1": {"sgemm_gflops": 100.0, "best_conv": {"gflops": 120.0}, "per_config": per_config}}}
    rec = {**PROV, "rounds": 6, "per_round": 4, "threads": 1, "groups": {"study": {"rows": rows, "summary": summary}}}
    text = "\n".join(ab_section(rec, peak))
    # convolutions alone 40 + 50 = 90 ms of 120; 1.4x needs ≤ 140 / 1.4 = 100 ms: 20 of the 30 ms outside them
    assert "take 90 ms of the 120 ms; 1.4x needs ≤ 100 ms, i.e. 20 of the 30 ms outside" in text
    # % of peak and of the configuration's conv mix: 16.7 / 120 = 14 %, 16.7 / 25 = 67 %
    assert "| study | a | 100 | 70.0 | 60.0 | 1.17 | 1.000 | 16.7 | 14 % | 67 % | 1.0 |" in text


def test_bf16_paragraph_reports_the_sum_and_the_range() -> None:
    from benchmarks.cpu_report import bf16_lines

    rows = [{"label": "a", "ratio": 1.02}, {"label": "b", "ratio": 1.34}, {"label": "c", "error": "x"}]
    rec = {**PROV, "groups": {"study": {"rows": rows, "summary": {"configs": 2, "ratio_summed": 1.134}}}}
    text = "\n".join(bf16_lines(rec))
    assert "**1.13x** summed over the study's 2 configurations" in text and "1.02-1.34x" in text
