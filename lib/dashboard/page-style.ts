/** The dashboard's stylesheet (inlined into the page; no external files). */
export const DASHBOARD_STYLE = `
:root { --bg:#0f1419; --panel:#171d24; --line:#27313c; --text:#d7dde4; --dim:#8a96a3; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; gap:16px; align-items:baseline; padding:12px 20px; border-bottom:1px solid var(--line); flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; }
.dim { color:var(--dim); }
.badge { padding:2px 8px; border-radius:10px; font-size:12px; border:1px solid var(--line); }
.badge.ok { color:var(--ok); border-color:var(--ok); } .badge.bad { color:var(--bad); border-color:var(--bad); }
main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size:14px; margin:0 0 8px; color:var(--accent); text-transform:uppercase; letter-spacing:.04em; }
.cards { display:flex; flex-wrap:wrap; gap:10px; }
.card { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:8px 12px; min-width:120px; }
.card .v { font-size:20px; font-variant-numeric: tabular-nums; } .card .k { color:var(--dim); font-size:12px; }
table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); vertical-align:top; overflow-wrap:anywhere; }
th { color:var(--dim); font-weight:normal; font-size:12px; }
td.n { text-align:right; } th.n { text-align:right; }
tr.pick { cursor:pointer; } tr.pick:hover { background:#1f2731; }
form { display:grid; gap:8px; }
label { display:grid; gap:2px; color:var(--dim); font-size:12px; }
input, textarea, select { background:var(--bg); color:var(--text); border:1px solid var(--line); border-radius:4px; padding:6px; font:13px ui-monospace, monospace; }
textarea { min-height:90px; resize:vertical; }
button { background:#238636; color:#fff; border:0; border-radius:4px; padding:6px 14px; cursor:pointer; font-size:13px; }
button.secondary { background:#30363d; } button:disabled { opacity:.5; cursor:not-allowed; }
pre { background:var(--bg); border:1px solid var(--line); border-radius:4px; padding:8px; margin:0; max-height:260px; overflow:auto; font:12px ui-monospace, monospace; white-space:pre-wrap; overflow-wrap:anywhere; }
.error { color:var(--bad); } .okc { color:var(--ok); }
.row { display:flex; gap:8px; align-items:end; flex-wrap:wrap; } .row > label { flex:1; min-width:120px; } .row > label.check { flex:0; min-width:auto; }
.note { color:var(--dim); font-size:12px; }
`;
