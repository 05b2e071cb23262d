#!/usr/bin/env python3
"""The project's reference for the k-shot splits (docs/data.md, "The k-shot splits").

The papers' loaders shuffle the training pool with `random.seed(s); random.shuffle(pool)` and take the
first k entries for training and the next k for dev.  This script computes the same permutation with
its own Mersenne Twister and CPython's seeding, bit drawing and shuffling rules, written out here
without the `random` module, so that data/kshot.c can be checked against something other than itself;
`--selftest` checks this script against `random` on the Python that runs it.

    /usr/bin/python3 tests/reference/kshot_split_reference.py --selftest
    /usr/bin/python3 tests/reference/kshot_split_reference.py --n N --k K --seed S        # pool positions
    /usr/bin/python3 tests/reference/kshot_split_reference.py --pool F.json --k K --seed S   # question ids

Each query prints one JSON object: {"n", "k", "seed", "train", "dev"} (tests/data/make_kshot_fixture.sh
and tests/data/make_fixtures.py collect them).
"""
import argparse
import json
import sys

MASK = (1 << 32) - 1
STATE_WORDS = 624
SHIFT = 397


class Twister:
    """MT19937 with the seeding CPython uses for integer seeds (init_by_array)."""

    def __init__(self, key_words):
        self.words = self._linear_fill(19650218)
        self._mix_in(key_words)
        self.pos = STATE_WORDS  # the first output twists first

    @staticmethod
    def _linear_fill(s):
        w = [s & MASK]
        for i in range(1, STATE_WORDS):
            prev = w[-1]
            w.append((1812433253 * (prev ^ (prev >> 30)) + i) & MASK)
        return w

    def _mix_in(self, key):
        w, i, j = self.words, 1, 0
        for _ in range(max(STATE_WORDS, len(key))):
            prev = w[i - 1]
            w[i] = ((w[i] ^ ((prev ^ (prev >> 30)) * 1664525)) + key[j] + j) & MASK
            i += 1
            j = (j + 1) % len(key)
            if i == STATE_WORDS:
                w[0], i = w[-1], 1
        for _ in range(STATE_WORDS - 1):
            prev = w[i - 1]
            w[i] = ((w[i] ^ ((prev ^ (prev >> 30)) * 1566083941)) - i) & MASK
            i += 1
            if i == STATE_WORDS:
                w[0], i = w[-1], 1
        w[0] = 1 << 31  # the state can never be all zeros

    def _regenerate(self):
        w = self.words
        for k in range(STATE_WORDS):
            top = w[k] & 0x80000000
            low = w[(k + 1) % STATE_WORDS] & 0x7FFFFFFF
            y = top | low
            w[k] = w[(k + SHIFT) % STATE_WORDS] ^ (y >> 1) ^ (0x9908B0DF * (y & 1))
        self.pos = 0

    def u32(self):
        if self.pos == STATE_WORDS:
            self._regenerate()
        y = self.words[self.pos]
        self.pos += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y & MASK


def seed_key(seed):
    """The words random.seed(int) feeds to init_by_array: |seed| in 32-bit words, low word first."""
    magnitude = abs(int(seed))
    words = []
    while magnitude:
        words.append(magnitude & MASK)
        magnitude >>= 32
    return words or [0]


class Stream:
    """The parts of random.Random that random.shuffle reaches."""

    def __init__(self, seed):
        self.mt = Twister(seed_key(seed))

    def getrandbits(self, k):
        if k <= 32:
            return self.mt.u32() >> (32 - k)
        value, filled = 0, 0
        while filled < k:  # low words first; the last word keeps its top (k - filled) bits
            word = self.mt.u32()
            left = k - filled
            if left < 32:
                word >>= 32 - left
            value |= word << filled
            filled += 32
        return value

    def below(self, n):
        """Uniform in [0, n) by rejection, drawing as many bits as n itself has."""
        bits = n.bit_length()
        while True:
            r = self.getrandbits(bits)
            if r < n:
                return r

    def shuffle(self, items):
        for i in reversed(range(1, len(items))):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def kshot_positions(n, k, seed):
    """Pool positions of the training and dev examples of (seed, k) in a pool of n."""
    order = list(range(n))
    Stream(seed).shuffle(order)
    return order[:k], order[k:2 * k]


def selftest():
    import random

    seeds = [0, 1, 2, 13, 21, 42, 87, 100, 12345, -1, -42, 2**32 - 1, 2**32, 2**32 + 5, 2**64 + 9, 3**50]
    sizes = [0, 1, 2, 3, 7, 10, 33, 100, 1000, 4096, 65537]
    checked = 0
    for s in seeds:
        for n in sizes:
            want = list(range(n))
            random.seed(s)
            random.shuffle(want)
            got = list(range(n))
            Stream(s).shuffle(got)
            if got != want:
                sys.exit(f"selftest: shuffle of {n} with seed {s} differs from random.shuffle")
            checked += 1
    for s in (13, 21, 42, 87, 100):  # the papers' seeds on the real pools' sizes (OK-VQA, VQA v2)
        for n in (9009, 443757):
            want = list(range(n))
            random.seed(s)
            random.shuffle(want)
            got = list(range(n))
            Stream(s).shuffle(got)
            if got != want:
                sys.exit(f"selftest: shuffle of {n} with seed {s} differs from random.shuffle")
            checked += 1
    for s in (0, 13, 2**40 + 1):
        mine = Stream(s)
        random.seed(s)
        for k in (1, 2, 8, 31, 32, 33, 63, 64, 65, 100):
            if mine.getrandbits(k) != random.getrandbits(k):
                sys.exit(f"selftest: getrandbits({k}) with seed {s} differs from random.getrandbits")
    print(f"selftest: {checked} shuffles and the getrandbits draws equal Python {sys.version.split()[0]}'s random",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description="k-shot train/dev positions as random.seed + random.shuffle give them")
    ap.add_argument("--selftest", action="store_true", help="compare with the random module and exit")
    ap.add_argument("--n", type=int, help="pool size: print 0-based pool positions")
    ap.add_argument("--pool", help="pool file (a JSON array of entries with question_id): print question ids")
    ap.add_argument("--k", type=int, help="training size (dev has the same size)")
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    if a.selftest:
        selftest()
        return 0
    if (a.n is None) == (a.pool is None) or a.k is None or a.seed is None:
        ap.error("give --selftest, or --k, --seed and one of --n, --pool")
    entries = None
    n = a.n
    if a.pool:
        with open(a.pool) as f:
            entries = json.load(f)
        n = len(entries)
    if a.k < 0 or 2 * a.k > n:
        ap.error(f"k = {a.k} needs 2k <= n = {n}")
    train, dev = kshot_positions(n, a.k, a.seed)
    if entries is not None:
        train = [entries[i]["question_id"] for i in train]
        dev = [entries[i]["question_id"] for i in dev]
    print(json.dumps({"n": n, "k": a.k, "seed": a.seed, "train": train, "dev": dev}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
