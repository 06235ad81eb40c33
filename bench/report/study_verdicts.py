"""The agreement verdicts of the Fashion-MNIST edition (docs/study-plan.md §7), from a headline row
(:class:`bench.report.study_tables.HeadlineRow`: the distinct-comparison mean τ-b, its two-sided joint
permutation p, its 90 % seed-bootstrap interval and the paper's own ceiling).

* **agrees**: p < 0.05 and mean τ > 0; "at the paper's own level" when the interval's upper end reaches the
  ceiling (≥ its mean τ-b), "below the paper's own level" when it is under it; no ceiling (one dataset): said so.
* **disagrees**: p < 0.05 and mean τ < 0.
* **not decided**: p ≥ 0.05, said as "the data do not separate the suite's order from no relation".
* A ceiling is called low (and the report says so) when its mean τ-b is under :data:`LOW_CEILING`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.report.study_tables import HeadlineRow

ALPHA = 0.05
LOW_CEILING = 0.5  # the paper's own datasets agree on less than this mean τ-b: "the ceiling is itself low"
NOT_DECIDED = "the data do not separate the suite's order from no relation"


@dataclass(frozen=True)
class Verdict:
    word: str  # agrees / disagrees / not decided / not computed
    level: str  # "at the paper's own level" / "below the paper's own level" / "no ceiling (one dataset)" / ""
    note: str  # the low-ceiling remark, the not-decided sentence, the small-table remark

    def text(self) -> str:
        return "; ".join(x for x in (self.word + (f", {self.level}" if self.level else ""), self.note) if x)


def verdict(row: HeadlineRow) -> Verdict:
    if row.test is None or row.mean_tau is None or not math.isfinite(row.mean_tau):
        return Verdict("not computed", "", "no comparison defined (a constant side)")
    low = row.ceiling is not None and row.ceiling.mean < LOW_CEILING
    low_note = (f"the paper's own ceiling is itself low (mean τ-b {row.ceiling.mean:+.2f} between its datasets)"
                if low and row.ceiling is not None else "")
    small = (f"with {len(row.models)} models the exact two-sided p cannot reach {ALPHA} "
             f"(smallest {2 / math.factorial(len(row.models)):.3g})" if 2 / math.factorial(len(row.models)) >= ALPHA
             else "")
    if row.test.p >= ALPHA:
        return Verdict("not decided", "", "; ".join(x for x in (NOT_DECIDED, low_note, small) if x))
    if row.mean_tau < 0:
        return Verdict("disagrees", "", low_note)
    if row.mean_tau == 0:
        return Verdict("not decided", "", NOT_DECIDED)
    if row.ceiling is None:
        level = "no ceiling (the paper reports one dataset)"
    elif row.interval is not None and row.interval[1] >= row.ceiling.mean:
        level = "at the paper's own level"
    else:
        level = "below the paper's own level"
    return Verdict("agrees", level, low_note)
