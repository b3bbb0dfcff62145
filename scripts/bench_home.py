"""Generates a home directory and times `tokenvault scan --home` beside `gitleaks dir` on it.

Called by scripts/bench-home (see there). Tokens are generated here, fresh per run; they are
made-up values in a throwaway directory.
"""

import json
import os
import random
import string
import subprocess
import sys
import time

bench_dir, tv, gitleaks = sys.argv[1], sys.argv[2], sys.argv[3]
home = os.path.join(bench_dir, "home")
target = int(os.environ.get("HOME_MB", "2048")) * 1_000_000
rng = random.Random(18)
ALNUM = string.ascii_letters + string.digits


def token():
    return "hf_" + "".join(rng.choice(ALNUM) for _ in range(34))


planted_in = {}  # value -> place (relative path)
written = 0


def write(rel, data):
    global written
    path = os.path.join(home, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    written += len(data)


def text_lines(n, plant_every, rel, fmt):
    lines = []
    for i in range(n):
        if plant_every and i % plant_every == plant_every // 2:
            t = token()
            planted_in[t] = rel
            lines.append(fmt.format("export HF_TOKEN=" + t))
        else:
            lines.append(fmt.format("cd ~/src/project-%d && make test ARGS=%d" % (i % 97, i)))
    return "\n".join(lines) + "\n"


if not os.path.isdir(home):
    # Catalogued places: about 10% of the size.
    write(".bash_history", text_lines(200_000, 50_000, ".bash_history", "{}"))
    write(".zsh_history", text_lines(200_000, 50_000, ".zsh_history", ": 1764000000:0;{}"))
    write(".local/share/fish/fish_history",
          text_lines(100_000, 50_000, ".local/share/fish/fish_history", "- cmd: {}\n  when: 1764000000"))
    per_log = target // 200
    for client, pattern in [
        ("Claude", ".config/Claude/logs/mcp-server-{}.log"),
        ("Code", ".config/Code/logs/2026010{}T100000/window1/exthost.log"),
        ("Cursor", ".config/Cursor/logs/2026010{}T100000/main.log"),
        ("claude-code", ".cache/claude-cli-nodejs/-home-u-p/mcp-logs-s/2026-01-0{}.txt"),
    ]:
        for i in range(4):
            rel = pattern.format(i)
            write(rel, text_lines(per_log // 60, per_log // 120, rel, "2026-01-01T10:00:00Z [info] {}"))
    for i in range(8):
        rel = ".claude/projects/-home-u-p%d/session.jsonl" % i
        write(rel, text_lines(target // 800 // 90, target // 1600 // 90, rel,
                              '{{"type":"user","message":{{"content":"{}"}}}}'))
    t = token()
    planted_in[t] = ".git-credentials"
    write(".git-credentials", "https://me:%s@huggingface.co\n" % t)
    # Not catalogued: caches, a node_modules, a venv, sources (the other 90%).
    chunk = os.urandom(1 << 20)
    i = 0
    while written < target * 0.45:
        write(".cache/huggingface/hub/models--x/blobs/blob%d" % i, chunk)
        i += 1
    js = ("function f%d(a){return a+%d}\nmodule.exports=f%d\n" * 40)
    i = 0
    while written < target * 0.7:
        write("src/app/node_modules/pkg%d/lib/index%d.js" % (i // 50, i), js % ((i,) * 120))
        i += 1
    py = "def f(x):\n    return x * %d\n\n" * 60
    i = 0
    while written < target:
        write("src/app/.venv/lib/python3.13/site-packages/pkg%d/mod%d.py" % (i // 50, i), py % ((i,) * 60))
        i += 1
    # Tokens outside the catalogue: a scan of the whole tree finds them, --home does not look.
    for i in range(5):
        t = token()
        planted_in[t] = "src/app/config%d.py" % i
        write("src/app/config%d.py" % i, 'HF_TOKEN = "%s"\n' % t)
    with open(os.path.join(bench_dir, "planted.json"), "w") as f:
        json.dump(planted_in, f)

planted_in = json.load(open(os.path.join(bench_dir, "planted.json")))
size = int(subprocess.run(["du", "-sb", home], capture_output=True, text=True).stdout.split()[0])
print("home: %.0f MB, %d planted tokens (%d in catalogued places)" % (
    size / 1e6, len(planted_in), sum(1 for p in planted_in.values() if not p.startswith("src/"))))

env = dict(os.environ, HOME=home, TOKENVAULT_HOME=os.path.join(bench_dir, "tvhome"), NO_COLOR="1")
start = time.monotonic()
r = subprocess.run([tv, "scan", "--home", "--no-vault", "--json"], env=env, capture_output=True, text=True)
tv_secs = time.monotonic() - start
found = json.loads(r.stdout or "[]")
print("tokenvault scan --home: %.2f s, %d findings (%d tokens planted in catalogued places)" % (
    tv_secs, len(found), sum(1 for p in planted_in.values() if not p.startswith("src/"))))
for line in r.stderr.splitlines():
    if "files read by kind" in line or "finding" in line:
        print("  " + line)
# Time per kind of place, from the scan's own summary line.
kinds = {}
for line in r.stderr.splitlines():
    if "files read by kind of place:" in line:
        for part in line.split(":", 2)[-1].split("), "):
            name = part.strip().split(" ")[0]
            secs = part.rsplit(", ", 1)[-1].rstrip(")s")
            try:
                kinds[name] = float(secs)
            except ValueError:
                pass
total_kind = sum(kinds.values()) or 1.0
for name, secs in kinds.items():
    print("  %-16s %6.2f s of scanning threads' time (%4.1f%%)" % (name, secs, 100 * secs / total_kind))

if os.access(gitleaks, os.X_OK):
    report = os.path.join(bench_dir, "gitleaks.json")
    start = time.monotonic()
    subprocess.run([gitleaks, "dir", home, "--no-banner", "--report-format", "json",
                    "--report-path", report, "--exit-code", "0"], capture_output=True)
    gl_secs = time.monotonic() - start
    gl = json.load(open(report))
    print("gitleaks dir (whole tree): %.2f s, %d findings" % (gl_secs, len(gl)))
    print("ratio: gitleaks dir / tokenvault scan --home = %.1fx wall time" % (gl_secs / max(tv_secs, 1e-3)))
    read_mb = 0.0
    for l in r.stderr.splitlines():
        if "files read, " in l:
            read_mb = float(l.split("files read, ")[1].split(" MB")[0])
    print("       bytes read: tokenvault %.0f MB of %.0f MB (%.1f%%); gitleaks the whole tree" % (
        read_mb, size / 1e6, 100 * read_mb / (size / 1e6)))
else:
    print("gitleaks not installed: skipped")
