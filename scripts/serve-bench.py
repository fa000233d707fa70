#!/usr/bin/env python3
"""Time from saving one report to the reload event of `gazette serve`.

    scripts/serve-bench.py SITE_DIR [SAVES]

Starts `target/release/gazette serve --port 0` on SITE_DIR, listens to its
event stream, appends a line to one report SAVES times (default 5, one save
at a time, waiting for each reload and half a second more) and prints
each latency and the median, the server's CPU time per save,
what serve said about each rebuild (its stage timings) and the server's
peak memory. It measures; it asserts nothing. Build first: cargo build
--release. GAZETTE=path runs another binary (to compare two builds);
SERVE_ARGS="--on-disk" passes options to serve (with --on-disk each
rebuild is a `gazette build` process of its own: its CPU time is counted
with the server's, and the peak memory of the largest is printed).
"""
import glob, os, resource, socket, statistics, subprocess, sys, tempfile, time

site = sys.argv[1]
saves = int(sys.argv[2]) if len(sys.argv) > 2 else 5
log = tempfile.TemporaryFile(mode="w+")
serve = [os.environ.get("GAZETTE", "target/release/gazette"), "serve", "--port", "0", "--timings", "--root", site]
server = subprocess.Popen(serve + os.environ.get("SERVE_ARGS", "").split(),
                          stdout=subprocess.PIPE, stderr=log, text=True)
try:
    line = server.stdout.readline()
    port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
    events = socket.create_connection(("127.0.0.1", port))
    events.sendall(b"GET /__gazette/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
    events.settimeout(600)
    time.sleep(0.5)
    report = sorted(glob.glob(os.path.join(site, "content", "**", "*.md"), recursive=True))
    report = [r for r in report if not r.endswith("_index.md")][0]
    original = open(report, encoding="utf-8").read()
    latencies = []
    buffered = b""
    def cpu_seconds():
        # utime + stime of the server (all its threads) and of the builds
        # it ran and waited for (cutime + cstime), in clock ticks.
        with open(f"/proc/{server.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    cpu_before = cpu_seconds()
    for i in range(saves):
        # As a person saves: not within moments of the last reload (a
        # change that comes right after a build waits for a burst to end).
        time.sleep(0.5)
        # Forget events that came before this save.
        events.setblocking(False)
        try:
            while events.recv(65536):
                pass
        except BlockingIOError:
            pass
        events.setblocking(True)
        events.settimeout(600)
        buffered = b""
        with open(report, "w", encoding="utf-8") as f:
            f.write(original + f"\n\n基准测试第{i}次保存。\n")
        saved = time.monotonic()
        while b"event: reload" not in buffered:
            buffered += events.recv(65536)
        latencies.append((time.monotonic() - saved) * 1000)
        buffered = buffered.split(b"event: reload", 1)[1]
        print(f"save {i + 1}: {latencies[-1]:.0f} ms to the reload event", flush=True)
    with open(report, "w", encoding="utf-8") as f:
        f.write(original)
    cpu = (cpu_seconds() - cpu_before) / saves
    print(f"median: {statistics.median(latencies):.0f} ms over {saves} saves ({site})")
    print(f"server CPU per save: {cpu * 1000:.0f} ms (less disturbed than wall time by a busy machine)")
    with open(f"/proc/{server.pid}/status") as status:
        peak = [l.split()[1] for l in status if l.startswith("VmHWM:")]
    if peak:
        print(f"server peak RSS: {int(peak[0]) / 1024:.0f} MB")
finally:
    server.terminate()
    server.wait()
    # The largest of the server and the builds it waited for (Linux counts
    # a waited-for grandchild's peak in its parent's children's usage).
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak RSS of the server or its largest build: {largest / 1024:.0f} MB")
    log.seek(0)
    for line in log:
        if line.startswith(("rebuilt", "built", "timings")):
            print("  serve: " + line.rstrip())
