"""Workspace: import a keyword export into the picked sector — upload, preview with an editable column mapping,
options, the import in the background with progress, and the report (downloadable)."""
import streamlit as st

import ui
import ui_jobs
from core.errors import DomainError
from core.planner import keyword_import
from core.planner.keyword_import import FIELD_LABELS, FIELDS, ImportOptions, ImportReport

ctx = ui.current("Import keywords")
actor, scope, rt = ctx.actor, ctx.scope, ctx.rt
if not actor.can_write:
    st.info("Viewers can look but not import. Ask an owner or admin of your account for editor access.")
    st.stop()
site_id, sector_id = ui.picked_sector(ctx)
JOB, REPORT = "kwimport_job", "kwimport_report"
NONE = "—"


def _show(report: ImportReport) -> None:
    (st.error if report.rejected else st.success)(ui.md(report.summary()))
    c = st.columns(4)
    c[0].metric("Rows read", f"{report.rows:,}")
    c[1].metric("Imported", f"{report.imported:,}")
    c[2].metric("Updated", f"{report.updated:,}")
    c[3].metric("Skipped", f"{report.skipped:,}")
    for note in report.notes:
        st.caption(ui.md(note))
    if report.skipped:
        ui.table(({"Reason": keyword_import.REASONS.get(code, code), "Rows": n}
                  for code, n in report.reasons.most_common()), empty="", key="kwimport_reasons")
        st.caption(f"The first {len(report.problems):,} skipped rows (the download has all of them):")
        ui.table(({"Line": p.line, "Reason": keyword_import.REASONS.get(p.code, p.code), "Detail": p.message,
                   "Keyword": p.keyword} for p in report.problems), empty="", key="kwimport_problems")
    st.download_button("Download the report (CSV)", report.csv_text(), file_name=f"import-report-{report.file_name}",
                       mime="text/csv", on_click="ignore", key="kwimport_download", icon=":material/download:")


# --- a finished import: its report stays until the next file -----------------------------------------------------
done = ui_jobs.take(JOB)
if done is not None:
    if done.error:
        st.error(ui.md(done.error))
    else:
        st.session_state[REPORT] = done.result
        st.cache_data.clear()  # cached counts of other pages include the new keywords
if ui_jobs.progress(JOB):
    st.stop()
report = st.session_state.get(REPORT)
if report is not None:
    _show(report)
    if st.button("Import another file", key="kwimport_again", type="primary"):
        st.session_state.pop(REPORT, None)
        st.rerun()
    st.stop()

# --- upload and preview ------------------------------------------------------------------------------------------
st.caption(f"Into sector “{ui.md(scope.sector_name)}” of “{ui.md(scope.site_name)}”. Exports of Semrush, Ahrefs, "
           "Google Keyword Planner and Moz are recognised by their column names; a plain list of keywords works too.")
uploaded = st.file_uploader("Keyword file (CSV, TSV or TXT)", type=["csv", "tsv", "txt"], key="kwimport_file")
if uploaded is None:
    st.stop()
name, fid = uploaded.name, uploaded.file_id  # the preview reads the upload's first 64 KB, not a copy of it

with st.expander("Reading the file (detected automatically)"):
    r1, r2, r3 = st.columns(3)
    encoding = r1.selectbox("Encoding", ["auto", *keyword_import.ENCODINGS], key=f"kwimport_enc_{fid}")
    delimiter = r2.selectbox("Delimiter", ["auto", ",", ";", "\t"], key=f"kwimport_delim_{fid}",
                             format_func=lambda d: keyword_import.DELIMITER_NAMES.get(d, d))
    header = r3.selectbox("Header", ["auto", 0, *range(1, 11)], key=f"kwimport_header_{fid}",
                          format_func=lambda h: {"auto": "auto", 0: "no header"}.get(h, f"line {h}"))
reading = ImportOptions(encoding=encoding, delimiter=delimiter, header_line=None if header == 0 else header)
try:
    detected = keyword_import.preview(uploaded, name=name, options=reading)
except DomainError as e:
    st.error(ui.md(e))
    st.stop()

st.caption(ui.md(f"Looks like: {detected.source} · {detected.encoding} · delimiter {detected.delimiter_name} · "
                 + (f"header on line {detected.header_line}" if detected.header_line else "no header row")))
st.markdown("**Columns** — which column holds each field (the other columns are kept with each keyword)")
choices = [NONE, *detected.columns]
mapping = {}
for col, field in zip(st.columns(len(FIELDS)), FIELDS, strict=True):
    mapping[field] = col.selectbox(FIELD_LABELS[field], choices, key=f"kwimport_map_{field}_{fid}",
                                   index=ui.index_of(choices, detected.mapping.get(field, NONE)))
mapping = {f: c for f, c in mapping.items() if c != NONE}
options = ImportOptions(encoding=encoding, delimiter=delimiter, header_line=reading.header_line, mapping=mapping)
shown = detected if mapping == detected.mapping else keyword_import.preview(uploaded, name=name, options=options)
for problem in shown.problems:
    st.warning(ui.md(problem))
if shown.kept:
    st.caption(f"Kept in each keyword's attributes: {ui.md(', '.join(shown.kept))}.")
ui.table(({"Line": r["line"], "Keyword": r.get("keyword", ""), "Volume": r.get("volume"),
           "Difficulty": r.get("difficulty"), "CPC": r.get("cpc"), "Intent": r.get("intent"),
           "Skipped because": r.get("problem", "")} for r in shown.rows),
         empty="No rows to show.", key="kwimport_preview")

# --- options and the import ----------------------------------------------------------------------------------------
with st.form(f"kwimport_run_{fid}"):
    existing = st.radio("Keywords the sector has already", ["update", "skip"], horizontal=True,
                        key=f"kwimport_existing_{fid}",
                        format_func=lambda v: {"update": "Update their metrics (deleted ones come back)",
                                               "skip": "Leave them as they are"}[v])
    strict = st.checkbox("All or nothing: import nothing if any row is bad", key=f"kwimport_strict_{fid}")
    if st.form_submit_button("Import", key="kwimport_submit", type="primary", disabled=bool(shown.problems)):
        run = ImportOptions(on_existing=existing, all_or_nothing=strict, encoding=encoding, delimiter=delimiter,
                            header_line=reading.header_line, mapping=mapping)
        data = uploaded.getvalue()  # the job's own copy: the script keeps reading the upload on reruns

        def work(report, run=run, data=data):
            return keyword_import.import_file(rt, actor, site_id=site_id, sector_id=sector_id, data=data, name=name,
                                              options=run, on_progress=lambda p: report(
                                                  f"{p.rows:,} rows read" if p.phase == "reading" else p.phase,
                                                  p.fraction))
        if ui_jobs.start(JOB, kind="import", label=f"Importing {name}", work=work):
            st.rerun()
