#!/usr/bin/env python3
"""Corpus, git repository, runs and scoring for scripts/bench-scan (see there).

Usage: bench_scan.py BENCH_DIR TOKENVAULT GITLEAKS BETTERLEAKS KINGFISHER   (env: CORPUS_MB, COMMITS, RUNS)

Planted tokens are generated here, fresh and random, in each provider's real format (Hugging Face
user tokens are 'hf_' + 34 letters, as the Hub issues them). They are fake: nothing here is, or
was, a credential. The answer key (where each was planted) is BENCH_DIR/planted*.json.
"""

import glob
import json
import os
import random
import shutil
import string
import subprocess
import sys
import time

BENCH, TV, GITLEAKS, BETTERLEAKS, KINGFISHER = sys.argv[1:6]
CORPUS_MB = int(os.environ.get("CORPUS_MB", "300"))
COMMITS = int(os.environ.get("COMMITS", "3000"))
RUNS = int(os.environ.get("RUNS", "2"))
rng = random.Random(20240601)

ALNUM = string.ascii_letters + string.digits
LETTERS = string.ascii_letters
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"


def rand(chars, n):
    return "".join(rng.choice(chars) for _ in range(n))


def digits(lo, hi):
    return rand(string.digits, rng.randint(lo, hi))


def slack_webhook():
    return "https://hooks.slack.com/services/T" + rand(string.ascii_uppercase + string.digits, 10) + "/B" + \
        rand(string.ascii_uppercase + string.digits, 10) + "/" + rand(ALNUM, 24)


# provider label -> (generator of a token, template(s) of the line it is planted in; one is chosen)
KINDS = {
    "huggingface": (lambda: "hf_" + rand(LETTERS, 34), 'HF_TOKEN = "{}"'),
    "huggingface-org": (lambda: "api_org_" + rand(LETTERS, 34), "    token='{}',"),
    "aws-id": (lambda: rng.choice(["AKIA", "ASIA"]) + rand(string.ascii_uppercase + "234567", 16), "aws_access_key_id = {}"),
    "aws-secret": (lambda: rand(B64, 40), ["aws_secret_access_key = {}", 'const AWS_SECRET_ACCESS_KEY: &str = "{}";',
                                            '#define AWS_SECRET_ACCESS_KEY "{}"', '\tawsSecretKey string = "{}"']),
    "github-classic": (lambda: "ghp_" + rand(ALNUM, 36), "GITHUB_TOKEN={}"),
    "github-fine-grained": (lambda: "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59), '"token": "{}",'),
    "github-app": (lambda: rng.choice(["ghs_", "gho_", "ghu_"]) + rand(ALNUM, 36), "    let t = \"{}\";"),
    "openai": (lambda: "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20), "OPENAI_API_KEY={}"),
    "openai-project": (lambda: "sk-proj-" + rand(URLSAFE, 74) + "T3BlbkFJ" + rand(URLSAFE, 74), 'openai.api_key = "{}"'),
    "anthropic": (lambda: "sk-ant-api03-" + rand(URLSAFE, 93) + "AA", 'ANTHROPIC_API_KEY: "{}"'),
    "google": (lambda: "AIza" + rand(URLSAFE, 35), 'GOOGLE_API_KEY = "{}"'),
    "slack": (lambda: "xoxb-" + digits(10, 13) + "-" + digits(10, 13) + "-" + rand(ALNUM, 24), "SLACK_BOT_TOKEN={}"),
    "slack-app": (lambda: "xapp-1-A" + rand(string.ascii_uppercase + string.digits, 10) + "-" + digits(13, 13) + "-" +
                  rand("0123456789abcdef", 64), '  "SLACK_APP_TOKEN": "{}",'),
    "slack-webhook": (slack_webhook, "webhook_url: {}"),
    "stripe": (lambda: rng.choice(["sk_live_", "rk_live_"]) + rand(ALNUM, 24), "stripe.api_key = '{}'"),
    "storacha": (lambda: "MgC" + rand(B64, 88), "STORACHA_KEY={}"),
}
PER_KIND = 20
TEXT_EXT = {".rs", ".py", ".toml", ".md", ".txt", ".c", ".h", ".json", ".yml", ".yaml", ".html", ".js", ".cfg", ".rst", ".sh"}


def plant_line(tmpl, value):
    return (rng.choice(tmpl) if isinstance(tmpl, list) else tmpl).format(value)


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def source_files():
    roots = glob.glob(os.path.expanduser("~/.cargo/registry/src/*")) + sorted(glob.glob("/usr/lib/python3*"))
    out = []
    for root in roots:
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if x not in (".git", "__pycache__")]
            for f in files:
                p = os.path.join(d, f)
                if os.path.splitext(f)[1] in TEXT_EXT and not os.path.islink(p):
                    try:
                        if os.path.getsize(p) < 4 << 20:
                            out.append(p)
                    except OSError:
                        pass
    out.sort()
    return out


def build_corpus(sources):
    corpus = os.path.join(BENCH, "corpus")
    key_path = os.path.join(BENCH, "planted.json")
    stamp = os.path.join(BENCH, "corpus.done")
    if os.path.exists(stamp) and open(stamp).read() == str(CORPUS_MB):
        return corpus, json.load(open(key_path))
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    size, copy, written = 0, 0, []
    while size < CORPUS_MB << 20:
        for src in sources:
            rel = os.path.relpath(src, "/").replace("root/.cargo/registry/src/", "cargo/")
            dst = os.path.join(corpus, f"copy{copy}", rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            size += os.path.getsize(dst)
            written.append(dst)
            if size >= CORPUS_MB << 20:
                break
        copy += 1
    planted = []
    targets = rng.sample(written, len(KINDS) * PER_KIND)
    i = 0
    for kind, (gen, tmpl) in KINDS.items():
        for _ in range(PER_KIND):
            path = targets[i]
            i += 1
            try:
                lines = open(path, encoding="utf-8").read().split("\n")
            except UnicodeDecodeError:
                lines = open(path, encoding="latin-1").read().split("\n")
            at = rng.randint(0, max(0, len(lines) - 1))
            value = gen()
            lines.insert(at, plant_line(tmpl, value))
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write("\n".join(lines))
            planted.append({"kind": kind, "path": os.path.relpath(path, corpus), "line": at + 1, "value": value})
    # Files planted twice: a later insertion moved an earlier one down.
    by_path = {}
    for p in planted:
        by_path.setdefault(p["path"], []).append(p)
    for items in by_path.values():
        for j, p in enumerate(items):
            p["line"] += sum(1 for q in items[j + 1:] if q["line"] <= p["line"])
    # Both tools must see the same files: no ignore files in the corpus.
    for d, _, files in os.walk(corpus):
        for f in files:
            if f in (".gitignore", ".ignore", ".gitleaksignore"):
                os.remove(os.path.join(d, f))
    json.dump(planted, open(key_path, "w"))
    open(stamp, "w").write(str(CORPUS_MB))
    return corpus, planted


def build_repo(sources):
    repo = os.path.join(BENCH, "repo.git")
    key_path = os.path.join(BENCH, "planted-git.json")
    stamp = os.path.join(BENCH, "repo.done")
    if os.path.exists(stamp) and open(stamp).read() == str(COMMITS):
        return repo, json.load(open(key_path))
    shutil.rmtree(repo, ignore_errors=True)
    sh("git", "init", "-q", "--bare", repo)
    files = {}
    pool = rng.sample(sources, min(len(sources), 2500))
    planted, pending_removal = [], []
    kinds = list(KINDS.items())
    stream = []
    ts = 1_600_000_000
    for c in range(COMMITS):
        changes = []
        for _ in range(rng.randint(1, 3)):
            if pool and (len(files) < 50 or rng.random() < 0.3):
                src = pool.pop()
                path = os.path.relpath(src, "/").replace("root/.cargo/registry/src/", "cargo/")
                try:
                    files[path] = open(src, encoding="utf-8").read().split("\n")
                except UnicodeDecodeError:
                    continue
            else:
                path = rng.choice(list(files))
                lines = files[path]
                at = rng.randint(0, len(lines))
                lines[at:at] = [f"// change {c}: {rand(LETTERS, 12)}"]
            changes.append(path)
        plant = None
        if c % 7 == 3 and len(planted) < len(KINDS) * 12:
            kind, (gen, tmpl) = kinds[len(planted) % len(kinds)]
            path = rng.choice(list(files))
            lines = files[path]
            at = rng.randint(0, len(lines))
            value = gen()
            token_line = plant_line(tmpl, value)
            lines[at:at] = [token_line]
            plant = {"kind": kind, "path": path, "line": at + 1, "text": token_line, "value": value}
            changes.append(path)
        # Remove an earlier planted token now and then: it stays in history only.
        if pending_removal and rng.random() < 0.05:
            path, text = pending_removal.pop(0)
            if text in files.get(path, []):
                files[path].remove(text)
                changes.append(path)
        body = []
        for path in dict.fromkeys(changes):
            data = "\n".join(files[path]).encode("utf-8", "surrogateescape")
            body.append(b"M 100644 inline " + path.encode() + b"\ndata %d\n" % len(data) + data + b"\n")
        msg = f"commit {c}".encode()
        head = b"commit refs/heads/main\nmark :%d\n" % (c + 1)
        head += b"author Bench <bench@example.com> %d +0000\ncommitter Bench <bench@example.com> %d +0000\n" % (ts + c, ts + c)
        head += b"data %d\n%s\n" % (len(msg), msg)
        if c > 0:
            head += b"from :%d\n" % c
        stream.append(head + b"".join(body) + b"\n")
        if plant:
            plant["mark"] = c + 1
            planted.append(plant)
            pending_removal.append((plant["path"], plant["text"]))
    stream.append(b"done\n")
    p = subprocess.run(
        ["git", "-C", repo, "fast-import", "--quiet", "--done", f"--export-marks={BENCH}/marks"],
        input=b"".join(stream),
        check=True,
    )
    marks = dict(line.split() for line in open(f"{BENCH}/marks").read().splitlines())
    for pl in planted:
        pl["commit"] = marks[":%d" % pl.pop("mark")]
        pl.pop("text")
    json.dump(planted, open(key_path, "w"))
    open(stamp, "w").write(str(COMMITS))
    return repo, planted


def run_measured(cmd, cwd=None, env=None, stdout_path=None):
    """One run: wall seconds, CPU seconds (user + system, the tool and its children) and max RSS (MB).

    CPU and RSS come from GNU time (/usr/bin/time): a child forked from this Python process would
    report this process's own memory as its peak."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    stats = os.path.join(BENCH, "time.out")
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", stats] + cmd, cwd=cwd, env=env, stdout=out,
                          stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    if stdout_path:
        out.close()
    user, system, rss_kb = open(stats).read().split()[-3:]
    return {"wall": wall, "cpu": float(user) + float(system), "rss_mb": int(rss_kb) / 1024, "rc": proc.returncode}


def timed(cmd, runs, **kw):
    """Best of `runs` by wall time (its CPU and RSS with it)."""
    best = None
    for _ in range(runs):
        m = run_measured(cmd, **kw)
        if best is None or m["wall"] < best["wall"]:
            best = m
    return best


# Which provider a tool's rule id belongs to, for precision per provider (rules of other providers
# and generic rules are "other").
PROVIDER_OF_RULE = [
    ("huggingface", ("hugging", "hf-", "hf_")),
    ("aws", ("aws",)),
    ("github", ("github",)),
    ("openai", ("openai",)),
    ("anthropic", ("anthropic", "claude")),
    ("google", ("google", "gcp", "gemini", "firebase")),
    ("slack", ("slack",)),
    ("stripe", ("stripe",)),
    ("storacha", ("storacha", "ucan")),
]


def provider_of_kind(kind):
    return {"huggingface-org": "huggingface", "aws-id": "aws", "aws-secret": "aws", "github-classic": "github",
            "github-fine-grained": "github", "github-app": "github", "openai-project": "openai",
            "slack-app": "slack", "slack-webhook": "slack"}.get(kind, kind)


def provider_of_rule(rule):
    r = rule.lower()
    for provider, words in PROVIDER_OF_RULE:
        if any(w in r for w in words):
            return provider
    return "other"


# Each tool's findings as (commit or None, path, line, rule, value or None). tokenvault never prints a
# value (it is located by path and line); the peers print theirs, and a peer's finding also counts when
# its value is a planted token (Kingfisher names another commit where the same blob is, so this
# is the fair test in history).
def tv_findings(path, git):
    return [(f.get("commit") if git else None, f["path"], f["line"], f["rule"], None) for f in json.load(open(path))]


def gl_findings(path, git):
    out = []
    for f in json.load(open(path)) or []:
        p = f["File"]
        if p.startswith("./"):
            p = p[2:]
        out.append((f.get("Commit") if git else None, p, f["StartLine"], f["RuleID"], f.get("Secret")))
    return out


def bl_findings(path, git):
    out = []
    for f in (json.load(open(path)) or {}).get("findings") or []:
        loc, attrs = f.get("location", {}), f.get("attributes", {})
        p = loc.get("path", "")
        if p.startswith("./"):
            p = p[2:]
        out.append((attrs.get("git.sha") if git else None, p, loc.get("start_line"), f["rule_id"],
                    f.get("match", {}).get("value")))
    return out


def kf_findings(path, git):
    out = []
    for f in (json.load(open(path)) or {}).get("findings") or []:
        fi = f["finding"]
        p = fi.get("path", "")
        if p.startswith("./"):
            p = p[2:]
        commit = (fi.get("git_metadata") or {}).get("commit", {}).get("id")
        out.append((commit if git else None, p, fi.get("line"), f["rule"]["id"], fi.get("snippet")))
    return out


def score(findings, planted, git):
    """Recall per planted kind; true/false positives per provider of the rule that found them."""
    at = {((p.get("commit") if git else None), p["path"], p["line"]): p for p in planted}
    by_value = {p["value"]: p for p in planted if p.get("value")}
    found = set()
    per_provider = {}  # provider -> [true positives, findings]
    for c, path, line, rule, value in findings:
        p = at.get((c, path, line))
        if p is None and value:
            p = by_value.get(value) or next((q for v, q in by_value.items() if v in value), None)
        if p is not None:
            found.add(id(p))
        counts = per_provider.setdefault(provider_of_rule(rule), [0, 0])
        counts[0] += p is not None
        counts[1] += 1
    per_kind = {}
    for p in planted:
        got = per_kind.setdefault(p["kind"], [0, 0])
        got[0] += id(p) in found
        got[1] += 1
    return per_kind, len(found), per_provider


TOOLS = ["tokenvault", "gitleaks", "betterleaks", "kingfisher"]


def report(title, size_mb, planted, results, git):
    print(f"\n## {title}: {size_mb:.0f} MB, {len(planted)} planted tokens\n")
    tv = results["tokenvault"][0]
    scored = {t: score(results[t][1], planted, git) for t in TOOLS}
    w = 16
    print(f"{'':30}" + "".join(f"{t:>{w}}" for t in TOOLS))
    rows = [
        ("wall time (s)", lambda t: f"{results[t][0]['wall']:.2f}"),
        ("throughput (MB/s)", lambda t: f"{size_mb / results[t][0]['wall']:.1f}"),
        ("slower than tokenvault", lambda t: f"{results[t][0]['wall'] / tv['wall']:.1f}x"),
        ("CPU (s)", lambda t: f"{results[t][0]['cpu']:.2f}"),
        ("CPU vs tokenvault", lambda t: f"{results[t][0]['cpu'] / max(tv['cpu'], 1e-9):.1f}x"),
        ("max RSS (MB)", lambda t: f"{results[t][0]['rss_mb']:.0f}"),
        ("recall", lambda t: f"{scored[t][1]}/{len(planted)} {scored[t][1] / max(len(planted), 1):.3f}"),
    ]
    for name, cell in rows:
        print(f"{name:30}" + "".join(f"{cell(t):>{w}}" for t in TOOLS))
    for kind in KINDS:
        cells = []
        for t in TOOLS:
            a = scored[t][0].get(kind, [0, 0])
            cells.append(f"{a[0]}/{a[1]}")
        if any(scored[t][0].get(kind, [0, 0])[1] for t in TOOLS):
            print(f"  recall {kind:21}" + "".join(f"{c:>{w}}" for c in cells))

    def precision(counts):
        return f"{counts[0] / counts[1]:.3f} ({counts[1] - counts[0]} fp)" if counts[1] else "-"

    totals = {t: [sum(v[0] for v in scored[t][2].values()), sum(v[1] for v in scored[t][2].values())] for t in TOOLS}
    print(f"{'precision (all findings)':30}" + "".join(f"{precision(totals[t]):>{w}}" for t in TOOLS))
    providers = sorted({p for t in TOOLS for p in scored[t][2]}, key=lambda p: (p == "other", p))
    for prov in providers:
        print(f"  precision {prov:18}" + "".join(f"{precision(scored[t][2].get(prov, [0, 0])):>{w}}" for t in TOOLS))
    out = {}
    for t in TOOLS:
        m = results[t][0]
        out[t] = {"wall_s": m["wall"], "cpu_s": m["cpu"], "rss_mb": m["rss_mb"], "exit": m["rc"],
                  "recall": scored[t][1], "planted": len(planted), "findings": totals[t][1],
                  "true_positives": totals[t][0],
                  "recall_by_kind": scored[t][0], "precision_by_provider": scored[t][2]}
    return out


def main():
    os.makedirs(BENCH, exist_ok=True)
    sources = source_files()
    print(f"sources: {len(sources)} text files", file=sys.stderr)
    corpus, planted = build_corpus(sources)
    repo, planted_git = build_repo(sources)
    corpus_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(corpus) for f in fs) / 1e6
    patch_mb = len(subprocess.run(["git", "-C", repo, "log", "-p", "--all"], capture_output=True, check=True).stdout) / 1e6
    # Warm the page cache for every tool alike.
    subprocess.run(f"find {corpus} -type f -print0 | xargs -0 cat > /dev/null", shell=True)
    kf_env = dict(os.environ, KF_RULE_CACHE_DIR=f"{BENCH}/kingfisher-rule-cache")
    kf = [KINGFISHER, "scan", "--no-validate", "--no-update-check", "-q", "-f", "json"]
    # Kingfisher compiles its rules into a cache on first use: warm it, outside the timing.
    warm = os.path.join(BENCH, "kf-warm")
    os.makedirs(warm, exist_ok=True)
    open(os.path.join(warm, "a.txt"), "w").write("nothing here\n")
    run_measured(kf + ["-o", f"{BENCH}/kf-warm.json", warm], env=kf_env)
    versions = []
    for name, cmd in (("gitleaks", [GITLEAKS, "version"]), ("betterleaks", [BETTERLEAKS, "version"]),
                      ("kingfisher", [KINGFISHER, "--version"])):
        v = subprocess.run(cmd, capture_output=True, text=True).stdout.strip().split()
        versions.append(f"{name} {v[-1] if v else '?'}")
    load = os.getloadavg()[0]
    print(f"# tokenvault scan vs {', '.join(versions)} ({os.cpu_count()} CPUs, load average {load:.1f} at the start, "
          f"best of {RUNS})")
    if load > os.cpu_count():
        print("(the machine is busy: wall times stretch with the load; CPU seconds and their ratios hold)")

    j = lambda tool, what: f"{BENCH}/{tool}-{what}.json"  # noqa: E731
    dir_runs = {
        "tokenvault": (lambda: timed([TV, "scan", "--no-vault", "--format", "json", "."], RUNS, cwd=corpus,
                                     stdout_path=j("tv", "dir")), tv_findings, j("tv", "dir")),
        "gitleaks": (lambda: timed([GITLEAKS, "dir", "--no-banner", "--exit-code", "0", "--report-format", "json",
                                    "--report-path", j("gl", "dir"), "."], RUNS, cwd=corpus), gl_findings, j("gl", "dir")),
        "betterleaks": (lambda: timed([BETTERLEAKS, "fs", "-l", "error", "--no-banner", "--exit-code", "0", "-o",
                                       j("bl", "dir"), "."], RUNS, cwd=corpus), bl_findings, j("bl", "dir")),
        "kingfisher": (lambda: timed(kf + ["-o", j("kf", "dir"), "."], RUNS, cwd=corpus, env=kf_env),
                       kf_findings, j("kf", "dir")),
    }
    results = {}
    for t in TOOLS:
        run, parse, out = dir_runs[t]
        m = run()
        results[t] = (m, parse(out, False))
    dir_res = report("directory scan", corpus_mb, planted, results, False)

    git_runs = {
        "tokenvault": (lambda: timed([TV, "scan", "--no-vault", "--git", "--format", "json", repo], RUNS,
                                     stdout_path=j("tv", "git")), tv_findings, j("tv", "git")),
        "gitleaks": (lambda: timed([GITLEAKS, "git", "--no-banner", "--exit-code", "0", "--report-format", "json",
                                    "--report-path", j("gl", "git"), repo], RUNS), gl_findings, j("gl", "git")),
        "betterleaks": (lambda: timed([BETTERLEAKS, "git", "-l", "error", "--no-banner", "--exit-code", "0", "-o",
                                       j("bl", "git"), repo], RUNS), bl_findings, j("bl", "git")),
        "kingfisher": (lambda: timed(kf + ["-o", j("kf", "git"), repo], RUNS, env=kf_env), kf_findings, j("kf", "git")),
    }
    results = {}
    for t in TOOLS:
        run, parse, out = git_runs[t]
        m = run()
        results[t] = (m, parse(out, True))
    git_res = report(f"git history ({COMMITS} commits; MB of `git log -p`)", patch_mb, planted_git, results, True)

    # The floor for history: reading every object once, which any history scan must do.
    floor = timed(["git", "-C", repo, "cat-file", "--batch-all-objects", "--batch"], RUNS)
    tv_git = git_res["tokenvault"]
    print("\n## git history floor: `git cat-file --batch-all-objects --batch > /dev/null`, same repository\n")
    print(f"{'':26}{'tokenvault --git':>18}{'git cat-file':>16}")
    print(f"{'wall time (s)':26}{tv_git['wall_s']:18.3f}{floor['wall']:16.3f}")
    print(f"{'CPU (s)':26}{tv_git['cpu_s']:18.3f}{floor['cpu']:16.3f}")
    print(f"{'ratio (wall)':26}{tv_git['wall_s'] / floor['wall']:17.2f}x{1:15.2f}x   (floor: <= 1.2x)")
    json.dump({"dir": dir_res, "git": git_res, "git_floor": {"wall_s": floor["wall"], "cpu_s": floor["cpu"],
               "ratio": tv_git["wall_s"] / floor["wall"]}, "corpus_mb": corpus_mb, "patch_mb": patch_mb,
               "versions": versions}, open(f"{BENCH}/summary.json", "w"), indent=1)


if __name__ == "__main__":
    main()
