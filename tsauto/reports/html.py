"""A small HTML writer for self-contained reports: inline CSS, figures as base64 PNGs, tables
from frames.  Nothing is fetched when the file opens: no script, font, style sheet or image
comes from the network."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import pandas as pd

from tsauto.data.io import check_output_path

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1150px;margin:0 auto;padding:1.2em 2em 3em;background:#fff}
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.25em;border-bottom:2px solid #1f77b4;
padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em;margin-top:1.4em}
nav a{margin-right:1em;color:#1f77b4;text-decoration:none}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f0f4f8}tr:nth-child(even) td{background:#fafcff}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#2a7d2a}.fixed{color:#b07800}.alert{color:#a0309a}.failed{color:#c00;font-weight:bold}
img{max-width:100%;height:auto;display:block;margin:.5em 0}
.note{color:#666;font-size:.85em}pre{background:#f4f4f4;padding:.6em;font-size:.8em;
overflow-x:auto;white-space:pre-wrap}
details{margin:.4em 0}summary{cursor:pointer;color:#1f77b4}
"""


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def figure_html(figure, alt: str, dpi: int = 80) -> str:
    """A figure as an inline PNG; the figure is closed so a report of many holds little."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    figure.clear()
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _cell(value) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "<td></td>"
        text = f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
        return f'<td class="num">{text}</td>'
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    if isinstance(value, (list, tuple, dict)):
        value = json.dumps(value, default=str)
    text = escape(value)
    if text in ("passed", "fixed", "alert", "failed"):
        return f'<td class="{text}">{text}</td>'
    return f"<td>{text}</td>"


def table_html(frame: pd.DataFrame, max_rows: int | None = 200, caption: str | None = None
               ) -> str:
    """A frame as an HTML table (index dropped); rows past ``max_rows`` are counted, not shown."""
    if frame is None or len(frame) == 0:
        return '<p class="note">(none)</p>'
    shown = frame if max_rows is None else frame.head(max_rows)
    head = "".join(f"<th>{escape(c)}</th>" for c in shown.columns)
    body = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>"
                     for row in shown.itertuples(index=False, name=None))
    more = "" if len(shown) == len(frame) else \
        f'<p class="note">{len(frame) - len(shown):,} more rows not shown.</p>'
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>{more}"


def mapping_table(mapping: dict, key: str = "name", value: str = "value") -> str:
    return table_html(pd.DataFrame({key: list(mapping), value: [mapping[k] for k in mapping]}),
                      None)


class Document:
    """Sections in order; ``write`` makes one HTML5 file with a table of contents."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[tuple[str, str, list[str]]] = []

    def section(self, key: str, heading: str) -> list[str]:
        """The list of HTML parts of a new section; append to it."""
        parts: list[str] = []
        self.sections.append((key, heading, parts))
        return parts

    def render(self) -> str:
        nav = " ".join(f'<a href="#{k}">{escape(h)}</a>' for k, h, _ in self.sections)
        body = "\n".join(f'<section id="{k}">\n<h2>{escape(h)}</h2>\n' + "\n".join(parts)
                         + "\n</section>" for k, h, parts in self.sections)
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{escape(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
                f"<main>\n<h1>{escape(self.title)}</h1>\n"
                f'<p class="note">{escape(self.subtitle)}</p>\n<nav>{nav}</nav>\n{body}\n'
                f"</main>\n</body>\n</html>\n")

    def write(self, path: str | Path) -> Path:
        path = check_output_path(path, "the report", "report.html")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
