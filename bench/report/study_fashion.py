"""The report of a study edition with a pre-registration (the Fashion-MNIST edition, #30; docs/study-plan.md).

Built from the edition's committed summaries and curves alone, in the plan's order:

1. the header, read from the edition's sweep files (the copy written beside the results, else the shipped one)
   and its summaries: dataset and resolution, the shared setting, iterations, seeds and sample counts;
2. the headline rows (#27's statistics: :mod:`bench.report.study_tables`) with §7's agreement verdicts
   (:mod:`bench.report.study_verdicts`);
3. per table: each configuration's mean ± std (α-GAN's sweep per learning-rate setting, the best setting per
   model marked, and the box plot of every job: :mod:`bench.report.sweep_boxplot`), finished / diverged counts;
4. §8's registered findings with Holm over each table's registered family (:mod:`bench.report.plan_findings`);
5. every pair of a table's configurations on its metrics, labelled descriptive, with its own Holm over all pairs;
6. §5's length decisions (``length_decisions.csv``: :mod:`bench.report.length_decisions`) and τ against training
   length;
7. the finished / diverged counts of every table (§6).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from bench.atomic import write_with
from bench.report import findings as fnd
from bench.report import html as htmlmod
from bench.report import length_decisions as ld
from bench.report import plan_findings as pf
from bench.report import study_tables as st
from bench.report import study_verdicts as sv
from bench.report import sweep_boxplot
from bench.report.equilibrium import write_equilibrium
from bench.report.load import ReportInputError, read_summary
from bench.report.published import PublishedValues, load_published
from bench.report.study import COLUMNS, REFERENCE_FILE, fmt, md_table, p_text, schedule_text, signed
from bench.study import StudyTable


# ---- the header --------------------------------------------------------------------------------------------
def edition_sweep(out: Path, table: StudyTable) -> Any:
    """The sweep the edition ran: the copy beside its results (``<out>/<table>/sweep.yaml``), else the shipped."""
    from bench import sweep as sweepmod

    copy = out / table.key / "sweep.yaml"
    return sweepmod.load(copy if copy.exists() else table.sweep, check_names=False)


def setting_text(values: dict[str, Any]) -> str:
    names = {"width": "width", "latent_dim": "latent", "batch_size": "batch", "lr": "Adam lr"}
    return ", ".join(f"{names.get(k, k)} {v:g}" if isinstance(v, float) else f"{names.get(k, k)} {v}"
                     for k, v in values.items())


def header(out: Path, tables: list[StudyTable], summary: pd.DataFrame) -> str:
    """Dataset, resolution, setting, iterations and sample counts, from the sweep files and the summaries."""
    sweeps = {t.key: edition_sweep(out, t) for t in tables}
    datasets = sorted({d for s in sweeps.values() for d in s.datasets})
    res = ", ".join(f"{d.split('@')[0]} at {d.split('@')[1]} px" if "@" in d else d for d in datasets)
    settings = sorted({setting_text(s.set) for s in sweeps.values()})
    seeds = sorted({len(s.seeds) for s in sweeps.values()}, reverse=True)
    grids = "; ".join(f"{t}: {m} {setting_text({k: v for k, v in o.get('grid', {}).items()})}"
                      for t, s in sweeps.items() for m, o in s.per_model.items() if o.get("grid"))
    n_eval = sorted({s.n_eval for s in sweeps.values() if s.n_eval})
    counted = sorted({int(v) for v in pd.to_numeric(summary.get("n_samples", pd.Series(dtype=float)),
                                                       errors="coerce").dropna().unique()})
    curve = sorted({(s.curve_every, s.curve_n or s.n_eval) for s in sweeps.values() if s.curve_every})
    parts = [f"{res}", f"{' / '.join(map(str, seeds))} seeds", f"one shared setting ({'; '.join(settings)})",
             schedule_text(summary) if len(summary) else "no completed runs yet"]
    if grids:
        parts.append(f"swept: {grids}")
    text = ", ".join(parts) + ". "
    text += f"Metrics on {', '.join(f'{n:,}' for n in n_eval) or '—'} images per metric (sweep files)"
    if counted:
        text += f"; the summaries record {', '.join(f'{n:,}' for n in counted)}"
    if curve:
        text += "; learning curves every " + ", ".join(f"{e:,} iterations on {n:,} images" for e, n in curve)
    return text + "."


# ---- per-table numbers ------------------------------------------------------------------------------------
def config_label(model: str, setting: str) -> str:
    return f"{model} (lr {setting})" if setting else model


def seed_frame(data: pf.TableData, best: dict[str, dict[str, str]], real: dict[str, float],
               flags: dict[tuple[str, str], str]) -> pd.DataFrame:
    """One row per configuration: mean ± std over finished seeds per metric ('*' marks the sweep's best setting
    of a model on that metric), runs finished / planned, diverged; the real test images last."""
    cols = [c for c in COLUMNS if any(c in cfg.values for cfg in data.configs.values())]
    rows = []
    for (model, setting), cfg in data.configs.items():
        row: dict[str, str] = {"configuration": config_label(model, setting) + (" ↑" if (model, setting) in flags else "")}
        for c in cols:
            v = cfg.values.get(c)
            cell = "—" if not v else f"{fmt(sum(v) / len(v))} ± {fmt(_sd(v), 2)}" + (
                "" if len(v) == data.planned else f" ({len(v)})")
            row[c] = cell + (" *" if setting and best.get(c, {}).get(model) == setting else "")
        row["finished / planned"] = f"{cfg.n_completed}/{data.planned}"
        row["diverged"] = f"{cfg.n_diverged}" + (" — configuration diverged (§6)" if cfg.diverged(data.planned) else "")
        rows.append(row)
    rows.append({"configuration": "real data (test)", **{c: fmt(real.get(c)) if c in real else "—" for c in cols},
                 "finished / planned": "", "diverged": ""})
    return pd.DataFrame(rows).set_index("configuration")


def _sd(v: list[float]) -> float | None:
    if len(v) < 2:
        return None
    m = sum(v) / len(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def best_settings(data: pf.TableData) -> dict[str, dict[str, str]]:
    """metric → model → its best non-diverged setting (the sweep only)."""
    if not data.is_sweep():
        return {}
    out: dict[str, dict[str, str]] = {}
    metrics = {k for c in data.configs.values() for k in c.values}
    for metric in metrics:
        for model in dict.fromkeys(m for m, _ in data.configs):
            b = pf.best_setting(data.settings(model), metric, data.planned)
            if b is not None:
                out.setdefault(metric, {})[model] = b[0]
    return out


def descriptive_pairs(out: Path, table: StudyTable, published: PublishedValues) -> pd.DataFrame:
    """§7: every pair of the table's models (a sweep's settings apart) on every metric it uses, Welch p
    Holm-corrected over all those pairs: the digits edition's family (:func:`bench.report.findings.family`),
    descriptive (no §8 verdict is read from it)."""
    return fnd.family(out, table, published)


def interval(v: float | None, lo: float | None, hi: float | None) -> str:
    def f(x: float | None) -> str:
        return "—" if x is None or not math.isfinite(x) else f"{x:+.3g}"

    return f"{f(v)} [{f(lo)}, {f(hi)}]"


def numbers(pr: pf.PartResult) -> str:
    r, k = pr.result, pr.part.kind
    if r is None:
        return "—"
    where = "; ".join(f"{s.setting}" for s in pr.sides if s.setting)
    best = f" (best lr: {where})" if where and k not in ("sp", "ex") else ""
    if k == "ex":
        per = [f"{m}: {sum((v > r.mean_b) if pr.part.op == '>' else (v < r.mean_b) for v in s.values)} of "
               f"{len(s.values)}"
               for m, s in zip(pr.part.a.split(","), pr.sides, strict=False)]
        return (f"K = {r.k} of {r.n_a} jobs above the best of {r.n_b} ({fmt(r.mean_b)}); exact p {p_text(r.p)} "
                f"(per model, not tested: {', '.join(per)})")
    if k == "sp":
        return (f"SD {fmt(r.mean_a)} ({r.n_a} jobs) vs {fmt(r.mean_b)} ({r.n_b} jobs), ratio "
                f"{interval(r.diff, r.lo, r.hi)} (job bootstrap 95 %); Brown–Forsythe p {p_text(r.p)}")
    if k == "r":
        return (f"{fmt(r.mean_a)} (n {r.n_a}) vs real {fmt(r.mean_b)}: difference {interval(r.diff, r.lo, r.hi)} "
                f"(95 %); t-test p {p_text(r.p)}")
    head = f"{fmt(r.mean_a)} vs {fmt(r.mean_b)} (n {r.n_a}, {r.n_b}){best}: difference "
    if k in ("eq", "ni"):
        lvl = "90 %" if k == "eq" else "95 %"
        test = "TOST" if k == "eq" else "one-sided"
        return head + f"{interval(r.diff, r.lo, r.hi)} ({lvl}), δ ±{fmt(r.delta)}; {test} p {p_text(r.p)}"
    return head + f"{interval(r.diff, r.lo, r.hi)} (95 %), g {interval(r.g, r.g_lo, r.g_hi)}; Welch p {p_text(r.p)}"


def findings_table(ev: pf.TableEvaluation, flags: dict[str, str]) -> pd.DataFrame:
    rows = []
    for f, prs, verdict in ev.findings:
        quote = " / ".join(f"“{q}” ({w})" for w, q in f.quotes) + (f"; read as: {f.reading}" if f.reading else "")
        notes = sorted({flags[m] for pr in prs for m in pr.part.models() if m in flags})  # §5.6's wording
        for i, pr in enumerate(prs):
            rows.append({"finding": f.id if i == 0 else "″", "the paper says": quote if i == 0 else "″",
                         "verdict": (verdict + ("; " + "; ".join(notes) if notes else ""))
                         if i == 0 else "″",
                         "part": f"({pr.part.label}) {pr.part.text()}" if pr.part.label else pr.part.text(),
                         "numbers": numbers(pr), "Holm p": p_text(pr.p_holm) if math.isfinite(pr.p_holm) else "—",
                         "part verdict": pr.verdict})
    return pd.DataFrame(rows).set_index("finding") if rows else pd.DataFrame()


def pairs_frame(df: pd.DataFrame) -> pd.DataFrame:
    rows = [{"metric": r["metric"], "a − b": f"{r['a']} − {r['b']}" + (f" (borrowed: {r['borrowed']})" if r["borrowed"]
                                                                      else ""),
             "means": f"{fmt(r['mean_a'])} vs {fmt(r['mean_b'])}",
             "difference [95 % CI]": interval(r["diff"], r["diff_lo"], r["diff_hi"]),
             "Hedges' g [95 % CI]": interval(r["g"], r["g_lo"], r["g_hi"]), "Welch p": p_text(r["p_welch"]),
             "Holm p (all pairs)": p_text(r["p_holm"])} for _, r in df.iterrows()]
    return pd.DataFrame(rows).set_index("metric") if rows else pd.DataFrame()


def length_flags(decisions: pd.DataFrame, table: str) -> dict[tuple[str, str], str]:
    """(model, lr setting or '') → "at N, <configuration> still improving on <metrics>" for the configurations
    of ``table`` still improving at their final length (§5.6)."""
    if decisions.empty:
        return {}
    d = decisions[decisions["tables"].astype(str).str.split(",").map(lambda ts: table in ts)]
    out: dict[tuple[str, str], str] = {}
    for conf, g in d.groupby("configuration"):
        final = g[g["length"] == g["length"].max()]
        up = final[final["still_improving"].astype(bool)]
        if len(up):
            lr = re.search(r"[\[ ,]lr=([0-9.eE+-]+)", str(conf))
            key = (str(up["model"].iloc[0]), f"{float(lr.group(1)):g}" if lr else "")
            out[key] = f"at {int(final['length'].iloc[0]):,}, {conf} still improving on {', '.join(up['metric'])}"
    return out


def model_flags(flags: dict[tuple[str, str], str]) -> dict[str, str]:
    """model → the flags of its configurations (a finding names models)."""
    out: dict[str, str] = {}
    for (m, _), text in flags.items():
        out[m] = f"{out[m]}; {text}" if m in out else text
    return out


# ---- the whole report --------------------------------------------------------------------------------------
HOW = ("How the numbers are computed (docs/study-plan.md; docs/study.md): **mean τ-b** over the row's distinct "
       "comparisons; two-sided joint label-permutation **p**; **90 % seed-bootstrap interval**; the **paper's own "
       "ceiling** (its datasets against each other). **Verdict** (§7): agrees (p < 0.05, τ > 0; at the paper's own "
       "level when the interval reaches the ceiling, below it when its upper end is under it), disagrees (p < 0.05, "
       "τ < 0), not decided (p ≥ 0.05: the data do not separate the suite's order from no relation).")
FINDINGS_HOW = ("Registered findings (§8): d = Welch's two-sided test of a − b (difference with its 95 % interval, "
                "Hedges' g with its 95 % interval); eq = TOST with δ = 10 % of b's |mean| (90 % interval); ni = "
                "one-sided Welch against δ; r = one-sample t-test against the real test images; sp = Brown–Forsythe "
                "(median-centred Levene) over every job, SD ratio with a job-bootstrap interval; ex = the number K of "
                "named jobs above the comparison model's best job, exact p = C(a, K)/C(a + b, K). Holm within the "
                "table over its registered family (m below; a test two findings share counted once; a test that "
                "cannot be computed stays in the family at p = 1; LPIPS parts leave it when LPIPS is not measured). "
                "α-GAN's d and eq tests use each model's best lr setting on the tested metric among its non-diverged "
                "settings, chosen on the same seeds that test it: this biases every model's best upwards alike.")


def write_fashion_report(out: str | Path, tables: list[StudyTable], edition_tables: list[StudyTable] | None = None,
                         published: PublishedValues | None = None) -> list[Path]:
    """``report.md``, ``report.html``, ``summary.csv``, ``agreement.csv`` (headline rows and verdicts),
    ``findings.csv`` (the registered tests), ``pairwise.csv`` (descriptive), ``length_decisions.csv`` and
    ``tau-vs-length.{csv,png}`` under ``out``; α-GAN's ``lr-sweep.*`` under its table."""
    out = Path(out)
    published = published or load_published()
    present = [t for t in tables if (out / t.key / "summary.csv").exists()]
    if not present:
        raise ReportInputError(f"no study results under {out} (run: python -m bench study --edition fashion)")
    ref_path = out / REFERENCE_FILE  # computed by the caller on the edition's dataset (bench.study_results)
    ref = json.loads(ref_path.read_text()) if ref_path.exists() else {}
    real = {k: float(v) for k, v in ref.items() if isinstance(v, (int, float)) and k != "n"}
    frames = [read_summary(out / t.key / "summary.csv").assign(table=t.key) for t in present]
    all_rows = pd.concat(frames, ignore_index=True)
    write_with(out / "summary.csv", lambda tmp: all_rows.to_csv(tmp, index=False))
    dec_path = ld.write_decisions(out, edition_tables or tables)
    decisions = pd.read_csv(dec_path)

    heads, agree, found, pairs = [], [], [], []
    md_tables: list[str] = []
    sections: list[tuple[str, str]] = []
    length_inputs = []
    for t in present:
        data = pf.load_table(out, t.key, real)
        assert data is not None
        diverged = {m for (m, s), c in data.configs.items() if not s and c.diverged(data.planned)}
        rows = st.headline_rows(out, t, published, st.without(diverged) if diverged else None)
        last = {h.kind: h for h in st.headline_rows(out, t, published, st.placed_last(diverged, data.planned))
                } if diverged else {}
        for h in rows:
            v = sv.verdict(h)
            hl = last.get(h.kind)
            beside = "—" if hl is None else (f"{signed(hl.mean_tau)} (p {p_text(None if hl.test is None else hl.test.p)}; "
                                             f"{sv.verdict(hl).word})")
            ceil = "— (one dataset)" if h.ceiling is None else (
                f"{signed(h.ceiling.mean)} [{signed(h.ceiling.low)}, {signed(h.ceiling.high)}]")
            heads.append({"paper table": t.title, "ranked": f"{h.kind}: "
                          + ", ".join(dict.fromkeys(c.suite_metric for c in h.comparisons))
                          + (f" (without {', '.join(sorted(diverged))}: diverged, §6)" if diverged else ""),
                          "comparisons: distinct (all) × models": f"{len(h.groups)} ({len(h.comparisons)}) × {len(h.models)}",
                          "mean τ-b": signed(h.mean_tau),
                          "90 % seed-bootstrap interval": "—" if h.interval is None else
                          f"[{signed(h.interval[0])}, {signed(h.interval[1])}]",
                          "permutation p": "—" if h.test is None else p_text(h.test.p),
                          "paper's own ceiling: mean τ-b [min, max]": ceil, "verdict (§7)": v.text(),
                          "with the diverged placed last: mean τ-b (p; verdict)": beside})
            agree.append({"table": t.key, "kind": h.kind, "models": " ".join(h.models), "mean_tau": h.mean_tau,
                          "p": None if h.test is None else h.test.p,
                          "lo": None if h.interval is None else h.interval[0],
                          "hi": None if h.interval is None else h.interval[1],
                          "ceiling": None if h.ceiling is None else h.ceiling.mean, "verdict": v.word, "level": v.level,
                          "note": v.note})
        if not rows:
            heads.append({"paper table": t.title, "ranked": "— (no table: findings only)", "verdict (§7)": "no τ"})
        flags = length_flags(decisions, t.key)
        best = best_settings(data)
        frame = seed_frame(data, best, real, flags)
        ev = pf.evaluate(data, t.key)
        ff = findings_table(ev, model_flags(flags))
        found.append(pf.evaluation_frame(ev))
        dp = descriptive_pairs(out, t, published)
        pairs.append(dp.assign(table=t.key))
        n_runs = sum(c.n_runs for c in data.configs.values())
        done = sum(c.n_completed for c in data.configs.values())
        div = sum(c.n_diverged for c in data.configs.values())
        md = [f"## {t.title}", "", f"Sweep `{t.sweep}`; {done} of {n_runs} runs completed, {div} diverged. Cells: mean "
              "± std over finished seeds (a count in brackets where fewer than planned); ↑: still improving at its "
              "final length (§5; the findings name it)." + (" * marks each model's best lr setting on that metric (a "
                                                                  "diverged setting is never best)." if best else ""),
              "", md_table(frame), ""]
        body = htmlmod.frame_html(frame)
        if data.is_sweep():
            sw = out / t.key / "summary.csv"
            paths = sweep_boxplot.write_lr_sweep(sw, out / t.key)
            stats_tab = pd.concat([sweep_boxplot.sweep_stats(read_summary(sw), m) for m in sweep_boxplot.SWEEP_METRICS],
                                  ignore_index=True)
            if len(stats_tab):
                md += ["Every job of the lr sweep (α-GAN App. H Table 2) per model: the best setting, its mean ± std "
                       "and the spread of all jobs:", "", sweep_boxplot.markdown(stats_tab), ""]
            png = next((p for p in paths if p.suffix == ".png"), None)
            if png is not None:
                md += [f"![lr-sweep]({png.relative_to(out)})", ""]
                body += htmlmod.embed_png(png)
        md += [f"Registered findings (§8), Holm over the table's registered family of m = {len(ev.family)} tests"
               + (" (LPIPS not measured: its parts are out of the family)" if t.key == pf.AV and not ev.lpips else "")
               + ":", "", md_table(ff) if len(ff) else "(none)", ""]
        body += f"<h3>Registered findings (m = {len(ev.family)})</h3>" + (htmlmod.frame_html(ff) if len(ff) else "")
        bs = pf.beside(data, t.key)
        if bs:
            bf = pd.DataFrame([{"test": pr.part.text(), "numbers": numbers(pr)} for pr in bs]).set_index("test")
            note = "Beside AG8, descriptive (each model at its best setting by mse; Welch p unadjusted):"
            md += [note, "", md_table(bf), ""]
            body += f"<p>{note}</p>" + htmlmod.frame_html(bf)
        xs = pf.exploratory(data, t.key)
        if xs:
            xf = pd.DataFrame([{"test": pr.part.text(), "numbers": numbers(pr), "verdict (unadjusted)": pr.verdict}
                               for pr in xs]).set_index("test")
            note = ("Exploratory, outside the family (not a finding of the paper: the suite's own hypothesis "
                    "\"IDVAE(R) blurrier\", #26 / PROTOCOLS §5c), Welch's test unadjusted:")
            md += [note, "", md_table(xf), ""]
            body += f"<p>{note}</p>" + htmlmod.frame_html(xf)
        for h in rows:
            md += [f"Rank comparisons, {h.kind}: " + "; ".join(
                f"{c.label} → {c.suite_metric}: τ-b {fmt(h.taus[c.label], 2)}" for c in h.comparisons) + ".", ""]
        pfm = pairs_frame(dp)
        if len(pfm):
            md += [f"Descriptive (not registered; no verdict of §8 is read from it): every pair of the table's models "
                   f"(a sweep's settings apart) on every metric it uses ({len(dp)} pairs; the digits edition's "
                   "family), Welch's test, Holm over all these pairs:", "", md_table(pfm), ""]
            body += "<h3>Descriptive: all pairs</h3>" + htmlmod.frame_html(pfm)
        for p in (out / t.key / "mosaic-samples.png", out / t.key / "mosaic-reconstructions.png"):
            if p.exists():
                md.append(f"![{p.stem}]({p.relative_to(out)})")
                body += htmlmod.embed_png(p)
        if eq_files := write_equilibrium(out / t.key):  # k_t and M of the BEGAN-style runs, from their logs
            md += ["", "BEGAN's equilibrium (from the runs' logs; `equilibrium.csv`): k_t (Khan eq. 12) and the "
                   "convergence measure M (§3.4) against the iteration.", "", f"![equilibrium]({eq_files[1].relative_to(out)})"]
            body += "<p>BEGAN's equilibrium: k_t (Khan eq. 12) and M (§3.4) from the runs' logs.</p>"
            body += htmlmod.embed_png(eq_files[1])
        md_tables += md + [""]
        sections.append((t.title, body))
        if not data.is_sweep():  # the sweep has no τ, and its curves would pool its lr settings
            length_inputs.append(SimpleNamespace(table=t, rows=rows,
                                                 models=list(dict.fromkeys(m for m, _ in data.configs))))

    write_with(out / "agreement.csv", lambda tmp: pd.DataFrame(agree).to_csv(tmp, index=False))
    found_df = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    write_with(out / "findings.csv", lambda tmp: found_df.to_csv(tmp, index=False, float_format="%.6g"))
    pair_df = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame()
    write_with(out / "pairwise.csv", lambda tmp: pair_df.to_csv(tmp, index=False, float_format="%.6g"))
    head = pd.DataFrame(heads).fillna("—").set_index("paper table")

    from bench.report.study import length_section

    length_md, length_html = length_section(out, length_inputs, published)  # type: ignore[arg-type]
    dec_view = decisions.assign(still=decisions["still_improving"].map({True: "yes", False: "no"}))
    dec_md = ["## Training length (§5)", "", "`length_decisions.csv`, from the curves alone: per configuration, length "
              "and watched metric, the last quarter's fitted change in the improving direction (relative to the "
              "fitted start) and the one-sided p of the slope; still improving = p < 0.05 and change ≥ 2 %.", ""]
    if len(dec_view):
        show = pd.DataFrame({"configuration": dec_view["configuration"], "tables": dec_view["tables"],
                             "length": dec_view["length"], "metric": dec_view["metric"],
                             "change": [f"{v:+.1%}" if math.isfinite(v) else "—" for v in dec_view["relative_change"]],
                             "p": [p_text(v) if math.isfinite(v) else "—" for v in dec_view["p"]],
                             "still improving": dec_view["still"]}).set_index("configuration")
        final = decisions[decisions["length"] == decisions.groupby("configuration")["length"].transform("max")]
        up = sorted(set(final[final["still_improving"].astype(bool)]["configuration"]))
        dec_md += [md_table(show), "", f"Still improving at their final length ({len(up)} of "
                   f"{decisions['configuration'].nunique()} configurations; flagged ↑ in the tables): "
                   f"{', '.join(up) or 'none'}. Which doublings ran, and why (§5.4–5.5: the CPU budget), is in "
                   "`sessions.md`.", ""]
        dec_html = htmlmod.frame_html(show)
    else:
        dec_md += ["No curves yet.", ""]
        dec_html = "<p>No curves yet.</p>"
    counts = pd.DataFrame([{"table": t.key, "configuration": config_label(m, s), "runs": c.n_runs,
                            "completed": c.n_completed, "diverged": c.n_diverged,
                            "other (failed, running)": c.n_runs - c.n_completed - c.n_diverged,
                            "configuration diverged (§6)": "yes" if c.diverged(d.planned) else "no"}
                           for t in present if (d := pf.load_table(out, t.key, real)) is not None
                           for (m, s), c in d.configs.items()]).set_index("table")
    md_all = [f"# The study: {header_title(out, present)}", "", "Written by `python -m bench study --edition fashion` "
              "(regenerate from the committed results: `--report-only`); the plan: docs/study-plan.md. "
              + header(out, list(edition_tables or present), all_rows), "", "## Headline", "", md_table(head), "",
              HOW, "", FINDINGS_HOW, "", *md_tables, *dec_md, *length_md,
              "## Finished and diverged runs (§6)", "", md_table(counts), ""]
    sections = [("Headline", htmlmod.frame_html(head) + f"<p>{HOW}</p><p>{FINDINGS_HOW}</p>"), *sections,
                ("Training length (§5)", dec_html), ("τ against training length", length_html),
                ("Finished and diverged runs (§6)", htmlmod.frame_html(counts))]
    md_path, html_path = out / "report.md", out / "report.html"
    write_with(md_path, lambda tmp: tmp.write_text("\n".join(md_all) + "\n"))
    page = htmlmod.page("hybrid-bench: the study (pre-registered edition)", sections, header(out, present, all_rows))
    write_with(html_path, lambda tmp: tmp.write_text(page))
    return [md_path, html_path, out / "summary.csv", out / "agreement.csv", out / "findings.csv",
            out / "pairwise.csv", dec_path, out / "tau-vs-length.csv"]


def header_title(out: Path, tables: list[StudyTable]) -> str:
    """"the paper tables on fashion-mnist at 32 px (pre-registered edition)", from the sweep files."""
    datasets = sorted({d for t in tables for d in edition_sweep(out, t).datasets})
    res = ", ".join(f"{d.split('@')[0]} at {d.split('@')[1]} px" if "@" in d else d for d in datasets)
    return f"the paper tables on {res} (pre-registered edition, docs/study-plan.md)"
