"""The CPU-throughput sections of PERFORMANCE.md (issue #29), rendered from ``results/perf/step_ab-cpu.json``
and its variants ``-repeat``, ``-bf16``, ``-compile`` (benchmarks/step_ab.py), ``peak-cpu.json`` (benchmarks/peak.py)
and ``profile_steps-cpu.json`` (benchmarks/profile_steps.py); :func:`benchmarks.perf_report.render` includes
them where the files exist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.4  # issue #29's acceptance: summed per-iteration time over the study's configurations


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _prov(rec: dict[str, Any]) -> str:
    la = rec["machine"]["load_average_1_5_15"]
    end = rec.get("load_average_end_1_5_15")
    tail = f", {end[0]:.1f} at the end" if end else ""
    return (f"Command: `{rec['command']}` — {rec['time_utc']}, {rec['device']} (load average {la[0]:.1f} at the "
            f"start{tail}), torch {rec['versions'].get('torch', '?')}, commit `{rec['git_commit'][:10]}`.")


QUIET_LOAD = 1.2  # 1-minute load average on the 2-core machine below which a run counts as alone on it


def _quiet(loads: list[float]) -> bool:
    """Whether every recorded load average is below :data:`QUIET_LOAD` (nothing else ran beside the benchmark)."""
    return bool(loads) and max(loads) < QUIET_LOAD


def _load_note(ab: dict[str, Any]) -> str:
    if _quiet([r.get("load_average_1", 0.0) for g in ab["groups"].values() for r in g["rows"]]):
        return (f"Nothing else ran on the machine (load average per row below {QUIET_LOAD}: the benchmark's own "
                "thread); ratios of single configurations still scatter by a few per cent between repeats.")
    return ("The machine was shared with other jobs during the run (load average per row), so absolute times are "
            "inflated and noisy; interleaving puts the load on both arms alike, but ratios of single configurations "
            "still scatter by about ±10 % (repeat runs of the same configuration).")


def bf16_lines(rec: dict[str, Any]) -> list[str]:
    """One paragraph: the study's A/B of fp32 against bf16 autocast (other arithmetic, so outside #29's target)."""
    g = rec["groups"]["study"]
    ratios = [r["ratio"] for r in g["rows"] if "error" not in r]
    return [f"bf16 autocast instead (`RunSpec(precision=\"bf16\")`, `--precision bf16`: a different arithmetic, so "
            f"not one of the speed-ups above; `{rec['command']}`, {rec['time_utc']}, load average "
            f"{rec['machine']['load_average_1_5_15'][0]:.1f}): **{g['summary']['ratio_summed']:.2f}x** summed over "
            f"the study's {g['summary']['configs']} configurations with the speed-ups on in both arms, per "
            f"configuration {min(ratios):.2f}-{max(ratios):.2f}x.", ""]


def compile_section(rec: dict[str, Any]) -> list[str]:
    """Eager (speed-ups on) against ``torch.compile`` of every network: steady state, compilation, a whole run."""
    out = ["## `torch.compile` (CPU, inductor): measured, not used", "", _prov(rec), "",
           "Speed-ups on, eager against every network compiled in place (`RunSpec(compile=True)`, inductor, which "
           "turns the native-kernel swaps off and generates its own code), same process and inputs, "
           f"{rec['rounds']} interleaved rounds of {rec['per_round']} iterations per arm, one thread. *compile (s)* = "
           "the compiled arm's 3 warm-up iterations (compilation and any recompilation) minus the eager arm's; "
           "*whole run* = eager time of the configuration's study steps over compiled time plus compilation (> 1: "
           "compiling pays).", "",
           "| configuration | steps | eager (ms/it) | compiled (ms/it) | eager / compiled | compile (s) | whole run |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    failed = []
    for r in rec["groups"]["study"]["rows"]:
        if "error" in r:
            failed.append(r)
            out.append(f"| {r['label']} | {r['steps']:,} | — | fails | — | — | — |")
            continue
        ms, w = r["ms_per_iteration"], r["warmup_s"]
        comp_s = max(w["on_compiled"] - w["on_eager"], 0.0)
        whole = r["steps"] * ms["on_eager"] / 1e3 / (comp_s + r["steps"] * ms["on_compiled"] / 1e3)
        out.append(f"| {r['label']} | {r['steps']:,} | {ms['on_eager']:.1f} | {ms['on_compiled']:.1f} | "
                   f"{r['ratio']:.2f} | {comp_s:.1f} | {whole:.2f} |")
    s = rec["groups"]["study"]["summary"]
    out.append("")
    if s:
        out.append(f"- Summed over the {s['configs']} configurations that run compiled: {s['sum_ms_on_eager']:.0f} ms "
                   f"eager vs {s['sum_ms_on_compiled']:.0f} ms compiled per iteration, **{s['ratio_summed']:.2f}x**.")
    for r in failed:
        out.append(f"- {r['label']}: the compiled model fails (`{r['error'][:160]}`).")
    return out + [""]


def _conv_bound(rows: list[dict[str, Any]], p1: dict[str, Any] | None) -> str:
    """How far the target is from the convolutions' own time: the summed time of every configuration's convolution
    calls, each timed alone (``peak-cpu.json``), against the summed "on" time and the time the target needs."""
    if not p1 or any(r["label"] not in p1["per_config"] for r in rows):
        return ""
    conv = sum(p1["per_config"][r["label"]]["conv_seconds_alone"] * 1e3 for r in rows)
    on = sum(r["ms_per_iteration"]["on"] for r in rows)
    need = sum(r["ms_per_iteration"]["off"] for r in rows) / TARGET_RATIO
    return (f" The convolution calls alone (each timed alone, `peak-cpu.json`) take {conv:.0f} ms of the {on:.0f} ms; "
            f"{TARGET_RATIO}x needs ≤ {need:.0f} ms, i.e. {on - need:.0f} of the {on - conv:.0f} ms outside the "
            "convolution kernels removed (matmuls, BatchNorm, activations, losses, Adam, autograd, data) without "
            "changing the arithmetic.")


def ab_section(ab: dict[str, Any], peak: dict[str, Any] | None) -> list[str]:
    """Per-configuration A/B (speed-ups off vs on), sums, achieved GFLOP/s and the fraction of peak."""
    p1 = peak["threads"]["1"] if peak else None
    top = max(p1["sgemm_gflops"], p1["best_conv"]["gflops"]) if p1 else 0.0  # the fastest kernel measured
    out = ["## CPU speed-ups (issue #29): one-run A/B, per model and summed", "",
           "On by default, `BENCH_SPEEDUPS=0` turns them off (the code paths before them, exactly): fused Adam "
           "(`Model.adam`, with gradients copied into their parameter's layout where they differ: `Model.update`); "
           "on the CPU in fp32, the image-output transposed convolutions' forward pass and the image-input "
           "convolutions' input gradient on PyTorch's native kernel instead of oneDNN's ~10x slower one for those "
           "shapes (`models.base.use_native_output_convolutions`, applied by the trainer), and the same for the input "
           "gradient of VAE-S/AVAE-S's fixed Sobel and Gabor filters (`models.base.conv2d_native_input_grad`); "
           "DCGAN's fakes for D's update without a graph. `channels_last` stays per model (`bench/trainer.py` "
           "`CHANNELS_LAST_FASTER`, empty: no model measured faster, `step_ab-cpu-channels_last.json`). Losses equal off "
           "and on within 1e-4 relative over 20 iterations (`tests/test_speed_equivalence.py`). Each arm runs inside "
           "its own setting "
           "(`models.base.speedups`); before commit 7d416df the trainer's runtime switches stayed on in the off arm "
           "too, so the A/B of earlier commits understated the gain.", "", _prov(ab), "",
           f"Speed-ups off (`BENCH_SPEEDUPS=0`: the code paths before issue #29) against on (the default), same "
           f"process, same initial weights, same batches and random numbers, {ab['rounds']} interleaved rounds of "
           f"{ab['per_round']} main iterations per arm, {ab['threads']} torch thread; ms = median over rounds of an "
           "arm's mean per iteration. " + _load_note(ab) + " GFLOP/s = "
           "counted FLOPs per iteration (convolutions and matmuls, forward and backward) / the arm's time"
           + (f"; *% of peak* = the on arm's GFLOP/s over the fastest fp32 rate measured on one thread in "
              f"`peak-cpu.json` ({top:.0f} GFLOP/s, the best convolution: MKL's sgemm reaches less here, below), "
              "and *% of conv mix* over the rate the configuration's own convolutions reach when each call is timed "
              "alone (what its shapes allow)." if p1 else "."), ""]
    head = "| group | configuration | steps | off (ms/it) | on (ms/it) | off / on | GFLOP/it | GFLOP/s on |"
    sep = "|---|---|---:|---:|---:|---:|---:|---:|"
    if p1:
        head += " % of peak | % of conv mix |"
        sep += "---:|---:|"
    out += [head + " load |", sep + "---:|"]
    for group, g in ab["groups"].items():
        for r in g["rows"]:
            ms = r["ms_per_iteration"]
            line = (f"| {group} | {r['label']} | {r['steps']:,} | {ms['off']:.1f} | {ms['on']:.1f} | {r['ratio']:.2f} | "
                    f"{r['gflop_per_iteration']:.3f} | {r['gflops']['on']:.1f} |")
            if p1:
                mix = p1["per_config"].get(r["label"])
                line += (f" {100 * r['gflops']['on'] / top:.0f} % | "
                         + (f"{100 * r['gflops']['on'] / mix['conv_mix_gflops']:.0f} % |" if mix else "— |"))
            out.append(line + f" {r.get('load_average_1', float('nan')):.1f} |")
    out.append("")
    for group, g in ab["groups"].items():
        s = g["summary"]
        if s:
            out.append(f"- **{group}** ({s['configs']} configurations): summed per-iteration time {s['sum_ms_off']:.0f} ms "
                       f"off vs {s['sum_ms_on']:.0f} ms on, **{s['ratio_summed']:.2f}x**; weighted by each "
                       f"configuration's training steps (one seed's training time, {s['training_s_off'] / 60:.0f} vs "
                       f"{s['training_s_on'] / 60:.0f} min at this load): **{s['ratio_step_weighted']:.2f}x**."
                       + (f" Issue #29 asks for ≥ {TARGET_RATIO}x summed over the study's configurations: "
                          + ("met." if s["ratio_summed"] >= TARGET_RATIO else "not met." + _conv_bound(g["rows"], p1))
                          if group == "study" else ""))
    return out + [""]


def peak_section(peak: dict[str, Any]) -> list[str]:
    out = ["## The machine's fp32 limit (CPU)", "", _prov(peak), "",
           "A large sgemm and every distinct convolution call (forward and backward, with its output mask) of one "
           "main iteration of the study's 19 configurations, each timed alone, best of 7 blocks; GFLOP/s from "
           "PyTorch's FLOP formulas. "
           + (f"Nothing else ran on the machine (load average below {QUIET_LOAD}): the 2-thread column is the two "
              "cores' limit, the 1-thread column the limit of one run (the suite trains each run on one thread)."
              if _quiet([r["load_average_1"] for r in peak["threads"].values()]) else
              "With other jobs on the 2 cores, the 2-thread column is unreliable (a second thread often waits for a "
              "busy core); the 1-thread column is the reference."), "",
           "| threads | sgemm | best conv call | load |", "|---:|---:|---|---:|"]
    for t, r in peak["threads"].items():
        b = r["best_conv"]
        out.append(f"| {t} | {r['sgemm_gflops']:.1f} GFLOP/s (n = {r['sgemm_n']}) | {b['gflops']:.1f} GFLOP/s "
                   f"({b['what']}) | {r['load_average_1']:.1f} |")
    r1 = peak["threads"]["1"]
    r2 = peak["threads"].get("2")
    out += ["", "Every convolution call of the study's models (one thread"
            + (", and two" if r2 else "") + "; GFLOP/s when timed alone):", "",
            "| call | MFLOP | 1 thread GFLOP/s |" + (" 2 threads GFLOP/s |" if r2 else ""),
            "|---|---:|---:|" + ("---:|" if r2 else "")]
    for key, s in sorted(r1["conv_shapes"].items(), key=lambda kv: -kv[1]["flops"]):
        line = f"| {s['what']} | {s['flops'] / 1e6:.1f} | {s['gflops']:.1f} |"
        if r2:
            line += f" {r2['conv_shapes'][key]['gflops']:.1f} |"
        out.append(line)
    return out + [""]


def profile_section(prof: dict[str, Any]) -> list[str]:
    out = ["## Where a step's time goes (CPU, `torch.profiler`)", "", _prov(prof), "",
           "One main iteration split into forward, backward (`torch.autograd.grad` in `Model.update`), optimiser "
           "(Adam's step) and data (the batch stream), as shares of the profiled iteration (speed-ups "
           + ("on" if prof["speedups"] else "off") + f", {prof['iterations']} iterations; the profiler adds a per-"
           "operator cost, so read shares, and the absolute times of the A/B above). The quick budget's 7 models "
           "have the same per-iteration setting as the study's configurations of the same name.", "",
           "| group | configuration | ms/it (profiled) | forward | backward | optimiser | data | top operators (self ms/it) |",
           "|---|---|---:|---:|---:|---:|---:|---|"]
    for group, rows in prof["groups"].items():
        for r in rows:
            s = r["share"]
            ops = ", ".join(f"{o['op'].removeprefix('aten::')} {o['ms']:.1f}" for o in r["top_ops"][:3])
            out.append(f"| {group} | {r['label']} | {r['ms_profiled']:.1f} | {s['forward']:.0%} | {s['backward']:.0%} | "
                       f"{s['optimiser']:.0%} | {s['data']:.0%} | {ops} |")
    if prof.get("runs"):
        out += ["", "A run split into training, log steps (the model's diagnostics on the fixed probe every 50 steps: "
                "active units, the decoder's per-term gradient norms), learning-curve evaluations and final "
                "evaluation (a real `bench.run.execute` shortened to "
                f"{prof['runs'][0]['run_steps']} iterations with one curve point, then extrapolated to the study's "
                "steps, a log step every 50 and its curve every 250 steps; final evaluation = the metric battery + "
                "the sample grids):", "",
                "| configuration | study steps | curve points | training | log steps | curve evaluations | "
                "final evaluation | one log step (s) | one curve point (s) | final evaluation (s) |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in prof["runs"]:
            sh, ex = r["full_run_share"], r["full_run_extrapolated_s"]
            point = r["phases_s"]["curve"] / r["curve_points"] if r["curve_points"] else 0.0
            out.append(f"| {r['label']} | {r['full_run_steps']:,} | {r['full_run_curve_points']} | {sh['training']:.0%} | "
                       f"{sh.get('log_steps', 0.0):.0%} | {sh['curve']:.0%} | {sh['final_evaluation']:.0%} | "
                       f"{r.get('one_log_step_s', 0.0):.2f} | {point:.1f} | {ex['final_evaluation']:.1f} |")
    return out + [""]


def cpu_sections(perf_dir: Path) -> list[str]:
    """Every issue-#29 section whose JSON file exists (none: an empty list)."""
    ab, peak, prof = (_load(perf_dir / f) for f in ("step_ab-cpu.json", "peak-cpu.json", "profile_steps-cpu.json"))
    out: list[str] = []
    if ab:
        out += ab_section(ab, peak)
        repeat = _load(perf_dir / "step_ab-cpu-repeat.json")
        if repeat and "study" in repeat["groups"]:
            s = repeat["groups"]["study"]["summary"]
            ratios = [r["ratio"] for r in repeat["groups"]["study"]["rows"]]
            out += [f"Repeat of the study's A/B (`{repeat['command']}`, {repeat['time_utc']}, load average "
                    f"{repeat['machine']['load_average_1_5_15'][0]:.1f} → {repeat['load_average_end_1_5_15'][0]:.1f}): "
                    f"**{s['ratio_summed']:.2f}x** summed, {s['ratio_step_weighted']:.2f}x step-weighted; per "
                    f"configuration {min(ratios):.2f}-{max(ratios):.2f}x.", ""]
    bf16 = _load(perf_dir / "step_ab-cpu-bf16.json")
    if bf16 and bf16["groups"].get("study", {}).get("summary"):
        out += bf16_lines(bf16)
    compiled = _load(perf_dir / "step_ab-cpu-compile.json")
    if compiled and "study" in compiled["groups"]:
        out += compile_section(compiled)
    if peak:
        out += peak_section(peak)
    if prof:
        out += profile_section(prof)
    if out:
        out += ["What was changed, what was tried and not kept, and the work each model does twice: "
                "[docs/performance-profile.md](docs/performance-profile.md).", ""]
    return out
