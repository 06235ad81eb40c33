"""``report.html``: one self-contained page (tables, statistics, plots and mosaics embedded as
base64 PNG data URIs), readable offline with no external assets."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
h1,h2,h3{font-weight:600} table{border-collapse:collapse;margin:0.8em 0;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
td.label,th:first-child{text-align:left} tr.section td{text-align:left;background:#f4f4f4}
caption{caption-side:top;text-align:left;padding:4px 0;font-size:14px}
.notes p{font-size:12px;color:#555;margin:2px 0} img{max-width:100%;border:1px solid #eee;margin:0.5em 0}
nav a{margin-right:1em} .small{font-size:12px;color:#666}
"""


def embed_png(path: Path) -> str:
    """An ``<img>`` with the PNG inlined as a data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def frame_html(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    """A small DataFrame as an HTML table (missing values as "—")."""
    def fmt(v: object) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return "—"
        return floatfmt.format(v) if isinstance(v, float) else str(v)

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ([df.index.name or ""] + list(df.columns)))
    body = "".join("<tr>" + f'<td class="label">{html.escape(str(i))}</td>'
                   + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                   for i, row in zip(df.index, df.itertuples(index=False), strict=True))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, sections: list[tuple[str, str]], subtitle: str = "") -> str:
    """The whole page: a title, a table of contents and ``(heading, html body)`` sections."""
    nav = "".join(f'<a href="#s{i}">{html.escape(h)}</a>' for i, (h, _) in enumerate(sections))
    body = "".join(f'<h2 id="s{i}">{html.escape(h)}</h2>\n{b}\n' for i, (h, b) in enumerate(sections))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f'<p class="small">{html.escape(subtitle)}</p><nav>{nav}</nav>{body}</body></html>\n')
