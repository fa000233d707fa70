#!/usr/bin/env python3
"""Driver of scripts/search-bench.sh: serves WORK on loopback and runs both
probes for 20 queries, each in a fresh Chromium profile (cold cache)."""
import functools, http.server, json, statistics, subprocess, sys, tempfile, threading, urllib.parse

work, chromium = sys.argv[1], sys.argv[2]
QUERIES = ["扫黑除恶", "法治政府", "信访件", "依法行政", "乡村振兴", "执法", "疫情防控", "法律顾问", "综合行政执法",
           "违法用地", "基本农田", "人民调解", "普法", "民法典", "禁毒", "安全生产", "重大行政决策", "党工委", "2022年", "示例县"]

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=work))
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]

def probe(page, query):
    with tempfile.TemporaryDirectory() as profile:
        url = f"http://127.0.0.1:{port}/portal/{page}?q={urllib.parse.quote(query)}"
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120).stdout
    start = dom.find('data-result="')
    if start < 0:
        return None
    return json.loads(dom[start + 13:dom.find('"', start + 13)].replace("&quot;", '"'))

rows = []
print(f"{'query':<14}{'gazette KB':>12}{'results':>9}{'pagefind KB':>13}{'results':>9}")
for q in QUERIES:
    g, p = probe("search-probe-gazette.html", q), probe("search-probe-pagefind.html", q)
    rows.append((q, g, p))
    fmt = lambda r: (f"{r['bytes'] / 1024:>12.1f}{r['count']:>9}" if r else f"{'failed':>12}{'':>9}")
    print(f"{q:<14}{fmt(g)}{fmt(p).replace('  ', '  ', 1):>22}", flush=True)
gb = [r[1]["bytes"] for r in rows if r[1]]
pb = [r[2]["bytes"] for r in rows if r[2]]
if gb and pb:
    print(f"median KB: gazette {statistics.median(gb) / 1024:.1f}, pagefind {statistics.median(pb) / 1024:.1f}")
server.shutdown()
