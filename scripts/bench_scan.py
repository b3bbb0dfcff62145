#!/usr/bin/env python3
"""Corpus, git repository, runs and scoring for scripts/bench-scan (see there).

Usage: bench_scan.py BENCH_DIR TOKENVAULT GITLEAKS   (env: CORPUS_MB, COMMITS, RUNS)

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

BENCH, TV, GITLEAKS = sys.argv[1], sys.argv[2], sys.argv[3]
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


# provider label -> (generator of a token, template of the line it is planted in)
KINDS = {
    "huggingface": (lambda: "hf_" + rand(LETTERS, 34), 'HF_TOKEN = "{}"'),
    "huggingface-org": (lambda: "api_org_" + rand(LETTERS, 34), "    token='{}',"),
    "aws-id": (lambda: rng.choice(["AKIA", "ASIA"]) + rand(string.ascii_uppercase + "234567", 16), "aws_access_key_id = {}"),
    "aws-secret": (lambda: rand(B64, 40), "aws_secret_access_key = {}"),
    "github-classic": (lambda: "ghp_" + rand(ALNUM, 36), "GITHUB_TOKEN={}"),
    "github-fine-grained": (lambda: "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59), '"token": "{}",'),
    "github-app": (lambda: rng.choice(["ghs_", "gho_", "ghu_"]) + rand(ALNUM, 36), "    let t = \"{}\";"),
    "openai": (lambda: "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20), "OPENAI_API_KEY={}"),
    "openai-project": (lambda: "sk-proj-" + rand(URLSAFE, 74) + "T3BlbkFJ" + rand(URLSAFE, 74), 'openai.api_key = "{}"'),
    "anthropic": (lambda: "sk-ant-api03-" + rand(URLSAFE, 93) + "AA", 'ANTHROPIC_API_KEY: "{}"'),
    "google": (lambda: "AIza" + rand(URLSAFE, 35), 'GOOGLE_API_KEY = "{}"'),
    "slack": (lambda: "xoxb-" + digits(10, 13) + "-" + digits(10, 13) + "-" + rand(ALNUM, 24), "SLACK_BOT_TOKEN={}"),
    "stripe": (lambda: rng.choice(["sk_live_", "rk_live_"]) + rand(ALNUM, 24), "stripe.api_key = '{}'"),
    "storacha": (lambda: "MgC" + rand(B64, 88), "STORACHA_KEY={}"),
}
PER_KIND = 20
TEXT_EXT = {".rs", ".py", ".toml", ".md", ".txt", ".c", ".h", ".json", ".yml", ".yaml", ".html", ".js", ".cfg", ".rst", ".sh"}


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
            lines.insert(at, tmpl.format(gen()))
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write("\n".join(lines))
            planted.append({"kind": kind, "path": os.path.relpath(path, corpus), "line": at + 1})
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
            token_line = tmpl.format(gen())
            lines[at:at] = [token_line]
            plant = {"kind": kind, "path": path, "line": at + 1, "text": token_line}
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


def timed(cmd, runs):
    best = None
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best


def tv_findings(path, git):
    out = []
    for f in json.load(open(path)):
        out.append((f.get("commit") if git else None, f["path"], f["line"], f["rule"]))
    return out


def gl_findings(path, git, strip):
    out = []
    for f in json.load(open(path)) or []:
        p = f["File"]
        if strip and p.startswith(strip):
            p = p[len(strip):]
        out.append((f.get("Commit") if git else None, p, f["StartLine"], f["RuleID"]))
    return out


def score(name, findings, planted, git):
    keys = {((p.get("commit") if git else None), p["path"], p["line"]) for p in planted}
    hit_keys = {(c, p, l) for c, p, l, _ in findings}
    per_kind = {}
    for p in planted:
        k = ((p.get("commit") if git else None), p["path"], p["line"])
        got = per_kind.setdefault(p["kind"], [0, 0])
        got[1] += 1
        got[0] += k in hit_keys
    fps = [f for f in findings if (f[0], f[1], f[2]) not in keys]
    recalled = sum(v[0] for v in per_kind.values())
    return per_kind, recalled, fps


def report(title, size_mb, planted, results):
    print(f"\n## {title}: {size_mb:.0f} MB, {len(planted)} planted tokens")
    (tv_t, tv_f), (gl_t, gl_f) = results["tokenvault"], results["gitleaks"]
    tv_k, tv_r, tv_fp = score("tokenvault", tv_f, planted, "git" in title)
    gl_k, gl_r, gl_fp = score("gitleaks", gl_f, planted, "git" in title)
    print(f"{'':22}{'tokenvault':>14}{'gitleaks':>14}")
    print(f"{'time (s)':22}{tv_t:14.2f}{gl_t:14.2f}")
    print(f"{'throughput (MB/s)':22}{size_mb / tv_t:14.1f}{size_mb / gl_t:14.1f}")
    print(f"{'speed ratio':22}{gl_t / tv_t:13.1f}x{1:13.1f}x")
    print(f"{'recall':22}{tv_r:10}/{len(planted):<3}{gl_r:10}/{len(planted):<3}")
    for kind in KINDS:
        a, b = tv_k.get(kind, [0, 0]), gl_k.get(kind, [0, 0])
        if a[1]:
            print(f"  {kind:20}{a[0]:10}/{a[1]:<3}{b[0]:10}/{b[1]:<3}")
    print(f"{'false positives':22}{len(tv_fp):14}{len(gl_fp):14}")
    for name, fps in (("tokenvault", tv_fp), ("gitleaks", gl_fp)):
        rules = {}
        for f in fps:
            rules[f[3]] = rules.get(f[3], 0) + 1
        if rules:
            print(f"  {name} false positives by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(rules.items(), key=lambda x: -x[1])[:8]))
    return {"tokenvault_s": tv_t, "gitleaks_s": gl_t, "ratio": gl_t / tv_t, "recall_tv": tv_r, "recall_gl": gl_r,
            "fp_tv": len(tv_fp), "fp_gl": len(gl_fp), "hf_tv": tv_k.get("huggingface", [0, 0])}


def main():
    os.makedirs(BENCH, exist_ok=True)
    sources = source_files()
    print(f"sources: {len(sources)} text files", file=sys.stderr)
    corpus, planted = build_corpus(sources)
    repo, planted_git = build_repo(sources)
    corpus_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(corpus) for f in fs) / 1e6
    patch_mb = len(subprocess.run(["git", "-C", repo, "log", "-p", "--all"], capture_output=True, check=True).stdout) / 1e6
    # Warm the page cache for both tools alike.
    subprocess.run(["cat"] + [os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs][:1], stdout=subprocess.DEVNULL)
    subprocess.run(f"find {corpus} -type f -print0 | xargs -0 cat > /dev/null", shell=True)
    env_note = f"{os.cpu_count()} CPUs"
    print(f"# tokenvault scan vs gitleaks 8.30.1 ({env_note}, best of {RUNS})")

    tv_json, gl_json = f"{BENCH}/tv-dir.json", f"{BENCH}/gl-dir.json"
    tv_t = timed(["sh", "-c", f"cd {corpus} && {TV} scan --no-vault --format json . > {tv_json}"], RUNS)
    gl_t = timed(["sh", "-c", f"cd {corpus} && {GITLEAKS} dir --no-banner --exit-code 0 --report-format json --report-path {gl_json} ."], RUNS)
    dir_res = report("directory scan", corpus_mb, planted, {
        "tokenvault": (tv_t, tv_findings(tv_json, False)),
        "gitleaks": (gl_t, gl_findings(gl_json, False, "./")),
    })

    tv_json, gl_json = f"{BENCH}/tv-git.json", f"{BENCH}/gl-git.json"
    tv_t = timed(["sh", "-c", f"{TV} scan --no-vault --git --format json {repo} > {tv_json}"], RUNS)
    gl_t = timed(["sh", "-c", f"{GITLEAKS} git --no-banner --exit-code 0 --report-format json --report-path {gl_json} {repo}"], RUNS)
    git_res = report(f"git history ({COMMITS} commits; MB of `git log -p`)", patch_mb, planted_git, {
        "tokenvault": (tv_t, tv_findings(tv_json, True)),
        "gitleaks": (gl_t, gl_findings(gl_json, True, "")),
    })
    json.dump({"dir": dir_res, "git": git_res, "corpus_mb": corpus_mb, "patch_mb": patch_mb},
              open(f"{BENCH}/summary.json", "w"), indent=1)


if __name__ == "__main__":
    main()
