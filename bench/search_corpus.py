#!/usr/bin/env python3
"""The corpus of the search benchmark: English dictionary definitions, scaled to N documents.

Source: the Debian package `dict-gcide` (GNU Collaborative International Dictionary of English,
the 1913 Webster with additions; Debian 12 ships 0.48.5+nmu2), i.e. the files
/usr/share/dictd/gcide.index and /usr/share/dictd/gcide.dict.dz. Nothing is downloaded: anyone with
the package installed regenerates the same corpus offline:

    apt-get download dict-gcide && dpkg-deb -x dict-gcide_*.deb DIR   (bench/run.sh does this)
    python3 bench/search_corpus.py -n 1000000 --seed 1 > corpus.tsv        # 248 MB, ~8 s
    psql -c "CREATE TABLE corpus (headword text, body text)"
    psql -c "COPY corpus (headword, body) FROM STDIN" < corpus.tsv

Output: one document per line, two tab-separated columns `headword` and `body`, escaped for
PostgreSQL's `COPY ... FROM STDIN` text format (the benchmark streams it straight into psql).
A summary (documents, bytes, seconds, a SHA-256 of the output) goes to standard error.

How the documents are made:

1. Entries. Every `.index` line is `headword TAB offset TAB length` (offsets and lengths in the
   dictd base64 alphabet) into the gzip-compressed `.dict.dz`. Blocks are taken once each (many
   headwords point at the same block, some into the middle of another block: those are skipped),
   the dictionary's own metadata (`00-database-*`) is left out, and so are the few blocks that do
   not start with `Headword \\pro*nun"ci*a*tion\\`. The headword is the word before the
   pronunciation; the body is the rest of the block, cleaned: pronunciations, `{}` cross-reference
   braces, source tags (`[1913 Webster]`, `[WordNet 1.5]`, `[PJC]`), the dictionary's accent codes
   (`["o]` -> `o`, `[ae]` -> `ae`) and `???` placeholders for Greek are removed, whitespace is
   collapsed to single spaces. 126 214 entries, ~29 MB of text (dict-gcide 0.48.5+nmu2).
2. Documents 1..min(N, entries) are the entries themselves in a seeded random order (so a small N
   is a sample of the whole alphabet, not the letter A).
3. Documents beyond that are recombinations: each body is split into fragments at sentence ends
   (a full stop after a word of three or more letters, or the `]` closing an etymology, followed
   by a capital, a digit or a parenthesis). A new document takes the headword and the first two
   fragments (part of speech, etymology, first sense) of a random entry, then fragments drawn
   uniformly from all fragments of all entries, at least one, up to as many fragments in all as a
   second random entry has (at most 12). Lengths thus follow the real entries (capped), and
   every word keeps about the share of documents it has in the dictionary: a word that occurs in
   one definition stays rare, `used` and `form` stay common.

Determinism: the only source of randomness is `random.Random(seed).random()`, whose sequence
Python guarantees across versions; the same package version, N and seed give the same bytes.
Speed: about 8 s for 1 000 000 documents (248 MB, sha256 52b67e8f945ac5e1... with seed 1) on one core.
"""
import argparse
import gzip
import hashlib
import os
import random
import re
import sys
import time

DICT = os.environ.get("GCIDE_DICT", "/usr/share/dictd/gcide.dict.dz")
INDEX = os.environ.get("GCIDE_INDEX", "/usr/share/dictd/gcide.index")
MAX_FRAGMENTS = 12
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}

_HEAD = re.compile(r"^\s*([^\\\n]+?)\s*\\[^\\\n]*\\")        # Headword \pro*nun"ci*a*tion\
_PRON = re.compile(r"\\[^\\\n]{0,80}\\")                     # further pronunciations
# source tags end their line; a few lines carry a stray headword after the tag: dropped too
_TAGS = re.compile(r"\[[^\]\n]{0,40}(?:Webster|WordNet|PJC|Century)[^\]\n]{0,40}\][^\n]*")
# accent codes: ["o] [=a] [`e] [.r] [ae] [oe] [a^]; not [Obs.] or [Scot.]
_ACCENT = re.compile(r"\[(?:[\"=`'.^*,~:-]([a-zA-Z]{1,2})|([a-z]{1,3})[\^*~]?)\]")
_GREEK = re.compile(r"\?{2,}")
_SPACE = re.compile(r"\s+")
# sentence ends: after a word of 3+ letters and a full stop, or after an etymology in brackets,
# before a capital, a digit (numbered senses) or a parenthesis; not after `n.`, `fr.`, `Gr.`
_SPLIT = re.compile(r"(?:(?<=[a-z]{3}\.)|(?<=\]))\s+(?=[A-Z0-9(\"])")


def _b64(s):
    v = 0
    for c in s:
        v = v * 64 + _B64[c]
    return v


def clean(text):
    text = _PRON.sub(" ", text)
    text = _TAGS.sub(" ", text)
    text = _ACCENT.sub(lambda m: m.group(1) or m.group(2), text)
    text = _GREEK.sub(" ", text)
    text = text.replace("{", "").replace("}", "")
    return _SPACE.sub(" ", text).strip(" ,")


def load_entries(dict_path=DICT, index_path=INDEX):
    """[(headword, body)] of the dictionary, in the order of its index."""
    if not (os.path.exists(dict_path) and os.path.exists(index_path)):
        sys.exit(f"{dict_path} not found: unpack the Debian package dict-gcide (bench/run.sh does) or set GCIDE_DICT/GCIDE_INDEX")
    data = gzip.open(dict_path).read()
    blocks = set()
    with open(index_path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and not parts[0].startswith("00-"):
                blocks.add((_b64(parts[1]), _b64(parts[2])))
    entries = []
    end = 0
    for off, length in sorted(blocks):
        if off < end:                      # inside (or overlapping) the previous block
            continue
        end = off + length
        raw = data[off:end].decode("utf-8", "replace")
        m = _HEAD.match(raw)
        if not m:
            continue
        body = clean(raw[m.end():])
        if body:
            entries.append((clean(m.group(1)), body))
    return entries


def _permutation(n, rnd):
    order = list(range(n))
    for i in range(n - 1, 0, -1):          # Fisher-Yates on random() only (stable across versions)
        j = int(rnd() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


def documents(n, seed=1, entries=None):
    """Yields n (headword, body) documents; see the module docstring."""
    entries = entries if entries is not None else load_entries()
    rnd = random.Random(seed).random
    order = _permutation(len(entries), rnd)
    for i in order[:n]:
        yield entries[i]
    if n <= len(entries):
        return
    fragments, first, count = [], [], []
    for _, body in entries:
        parts = [p for p in _SPLIT.split(body) if p]
        first.append(len(fragments))
        count.append(len(parts))
        fragments.extend(parts)
    e, f = len(entries), len(fragments)
    for _ in range(n - e):
        a = int(rnd() * e)
        k = min(count[int(rnd() * e)], MAX_FRAGMENTS)
        own = min(count[a], 2)
        parts = fragments[first[a]:first[a] + own]
        for _ in range(max(k - own, 1)):
            parts.append(fragments[int(rnd() * f)])
        yield entries[a][0], " ".join(parts)


def _copy_escape(s):
    return s.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def write_tsv(out, n, seed=1, entries=None, chunk=2000):
    """Writes n documents as COPY text to the binary stream `out`; returns (bytes, sha256 hex)."""
    digest = hashlib.sha256()
    total = 0
    buf = []
    for head, body in documents(n, seed, entries):
        buf.append(f"{_copy_escape(head)}\t{_copy_escape(body)}\n")
        if len(buf) >= chunk:
            b = "".join(buf).encode()
            out.write(b)
            digest.update(b)
            total += len(b)
            buf = []
    if buf:
        b = "".join(buf).encode()
        out.write(b)
        digest.update(b)
        total += len(b)
    out.flush()
    return total, digest.hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--docs", type=int, default=int(os.environ.get("BENCH_SEARCH_DOCS", "1000000")))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--out", help="file to write (default: standard output)")
    a = p.parse_args()
    t = time.time()
    entries = load_entries()
    out = open(a.out, "wb") if a.out else sys.stdout.buffer
    try:
        size, sha = write_tsv(out, a.docs, a.seed, entries)
    except BrokenPipeError:                # e.g. `| head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        if a.out:
            out.close()
    print(f"{a.docs} documents ({len(entries)} dictionary entries, seed {a.seed}): {size} bytes "
          f"in {time.time() - t:.1f} s, sha256 {sha}", file=sys.stderr)


if __name__ == "__main__":
    main()
