#!/usr/bin/env python3
"""News-like benchmark text built from the training paragraphs (standard library only).

Two sub-commands, both pure functions of the source files' bytes, the size and the seed:

  doc      One document of about --bytes UTF-8 bytes: whole training paragraphs
           separated by blank lines, the last one cut at a word boundary so the
           document is at most --bytes long (and within a few bytes of it).
  archive  A JSONL archive of articles (`id`, `text`) of at least --mb MiB: each
           article is 3 to 12 training paragraphs (drawn with replacement)
           separated by blank lines, like a news story of 1-8 KB.

Sources are labeled JSONL files (`text` field; other fields ignored), read in the
order given; pass training_data/train.jsonl, or training_data/parts/*.train.jsonl.

Usage:
    scripts/news_corpus.py doc --bytes 1024 --out doc.txt SOURCE...
    scripts/news_corpus.py archive --mb 200 --out archive.jsonl SOURCE...
"""

import argparse
import json
import random
import sys


def read_paragraphs(paths):
    """All non-empty paragraph texts of the sources, in file order."""
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    text = json.loads(line)["text"]
                except (ValueError, KeyError, TypeError) as err:
                    sys.exit(f"news_corpus: {path}:{lineno}: {err}")
                text = " ".join(str(text).split())
                if text:
                    out.append(text)
    if not out:
        sys.exit("news_corpus: the sources hold no paragraphs")
    return out


def make_doc(paragraphs, size, seed):
    """A document of at most `size` UTF-8 bytes, as close to it as word boundaries allow."""
    rng = random.Random(seed)
    parts, used = [], 0
    while used < size:
        para = paragraphs[rng.randrange(len(paragraphs))]
        sep = 2 if parts else 0
        room = size - used - sep
        if room <= 0:
            break
        if len(para.encode("utf-8")) > room:
            words, kept, n = para.split(" "), [], 0
            for w in words:
                extra = len(w.encode("utf-8")) + (1 if kept else 0)
                if n + extra > room:
                    break
                kept.append(w)
                n += extra
            if kept:
                parts.append(" ".join(kept))
                used += sep + n
            break
        parts.append(para)
        used += sep + len(para.encode("utf-8"))
    return "\n\n".join(parts)


def cmd_doc(a):
    paragraphs = read_paragraphs(a.sources)
    doc = make_doc(paragraphs, a.bytes, a.seed)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(doc)
    print(f"news_corpus: wrote {len(doc.encode('utf-8'))} bytes, "
          f"{doc.count(chr(10) * 2) + 1} paragraphs to {a.out}", file=sys.stderr)


def cmd_archive(a):
    paragraphs = read_paragraphs(a.sources)
    rng = random.Random(a.seed)
    target = int(a.mb * 1024 * 1024)
    written = records = 0
    with open(a.out, "w", encoding="utf-8") as f:
        while written < target:
            k = rng.randint(3, 12)
            text = "\n\n".join(paragraphs[rng.randrange(len(paragraphs))] for _ in range(k))
            line = json.dumps({"id": f"article-{records:07d}", "text": text},
                              ensure_ascii=False) + "\n"
            f.write(line)
            written += len(line.encode("utf-8"))
            records += 1
    print(f"news_corpus: wrote {records} articles, {written} bytes to {a.out} "
          f"from {len(paragraphs)} source paragraphs", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("doc", help="one document of about --bytes bytes")
    d.add_argument("--bytes", type=int, required=True)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--out", required=True)
    d.add_argument("sources", nargs="+")
    r = sub.add_parser("archive", help="a JSONL archive of at least --mb MiB")
    r.add_argument("--mb", type=float, required=True)
    r.add_argument("--seed", type=int, default=20240611)
    r.add_argument("--out", required=True)
    r.add_argument("sources", nargs="+")
    a = ap.parse_args()
    if a.cmd == "doc":
        if a.bytes < 1:
            sys.exit("news_corpus: --bytes must be at least 1")
        cmd_doc(a)
    else:
        if a.mb <= 0:
            sys.exit("news_corpus: --mb must be positive")
        cmd_archive(a)


if __name__ == "__main__":
    main()
