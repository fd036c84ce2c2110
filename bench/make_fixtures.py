#!/usr/bin/env python3
"""Generate pwsentry's benchmark and test password lists, deterministically.

No real leaked-password data is used (none is available offline, and we
would not ship it). Instead each line is drawn, with a fixed seed, from the
shapes that dominate published analyses of leaked lists: a dictionary word
or name with a capital and digits or a year appended, l33t variants, names
with dates, keyboard walks, passphrases, random strings from password
generators, with symbols in a share of them. The word lists below are
common English words, first names, places and teams written for this
script.

Running it again rewrites the same bytes (Python >= 3.2: only
``random.Random(seed)`` with ``randrange``/``choice``/``random``/``shuffle``
is used, whose output is stable across versions):

    python3 bench/make_fixtures.py            # writes the three files
    python3 bench/make_fixtures.py --check    # exits 1 if a file differs

Outputs (paths relative to the project root):

* ``benches/fixtures/passwords-2000.txt``   2,000 lines, 8-20 characters
* ``benches/fixtures/passwords-10000.txt`` 10,000 lines, 8-20 characters
* ``tests/data/ordinary-passwords.txt``     1,200 lines, 8-40 characters

Each file has unique lines, no control characters, UTF-8, one password a
line, ``\\n`` line ends. Licence: the script and its output are pwsentry's
own (MIT OR Apache-2.0).
"""

import argparse
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORDS = """
password welcome dragon monkey shadow master sunshine princess football
baseball soccer hockey summer winter spring autumn flower butterfly purple
orange yellow silver golden diamond secret freedom letmein trustno1 whatever
chocolate cookie banana cherry apple coffee pepper ginger tiger lion eagle
falcon panther wolf bear rabbit turtle dolphin horse pony kitty puppy doggy
charlie buddy rocky lucky angel heaven starwars pokemon batman superman
spider matrix ninja pirate wizard knight castle dragonfly thunder lightning
rainbow ocean river mountain forest island garden sunset midnight morning
mustang ferrari corvette harley yamaha honda mercedes porsche jaguar
computer internet server office company welcome hello friend family
love forever always happy smile music guitar piano dance rocket galaxy
planet jupiter saturn mercury phoenix unicorn magic crystal shadow storm
""".split()

NAMES = """
michael jessica ashley jennifer amanda daniel joshua matthew andrew
christopher david james robert john thomas william sarah emily hannah
nicole michelle stephanie elizabeth justin brandon anthony kevin jason
melissa heather amber rachel laura megan lauren samantha tyler ryan eric
maria sofia lucas julia emma olivia noah liam mia chloe lena anna marco
pierre claire jacques sven ingrid hans petra giulia luca carmen diego
""".split()

PLACES = """
london paris berlin madrid chicago boston dallas denver seattle austin
miami texas florida canada brazil mexico arsenal chelsea liverpool
yankees lakers cowboys packers steelers eagles celtics barcelona juventus
""".split()

PASSPHRASE_WORDS = """
correct horse battery staple orbit velvet canyon marble pencil window
river stone cloud paper candle forest silver meadow harbor lantern
copper violet thunder garden planet rocket basket tunnel pepper carpet
bridge winter autumn spring summer yellow orange purple meadow coffee
jungle island falcon beacon castle shadow mirror ladder puzzle quiet
""".split()

ACCENTED = ["Müller", "Zoë", "José", "Señor", "Çelik", "Ångström", "Renée", "Björk"]

WALKS = [
    "qwerty", "qwertyuiop", "asdfgh", "asdfghjkl", "zxcvbn", "zxcvbnm",
    "1qaz2wsx", "qazwsx", "1q2w3e4r", "1q2w3e4r5t", "q1w2e3r4", "zaq12wsx",
    "!qaz2wsx", "qwe123", "asd123", "poiuytrewq", "mnbvcxz", "123qwe",
    "qweasdzxc", "1234qwer", "!@#$qwer", "asdf1234", "qwerasdf",
]

SYMBOLS = "!@#$%&*?.-_+="
L33T = {"a": "@4", "e": "3", "i": "1!", "o": "0", "s": "$5", "t": "7+", "l": "1", "g": "9", "b": "8"}
GENERATOR_ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!@#$%^&*",
    "".join(chr(c) for c in range(33, 127)),
]


def cap(rng, w):
    r = rng.random()
    if r < 0.55:
        return w.capitalize()
    if r < 0.62:
        return w.upper()
    return w


def year(rng):
    return str(rng.choice([rng.randrange(1960, 2006), rng.randrange(2010, 2026)]))


def digits(rng):
    r = rng.random()
    if r < 0.3:
        return rng.choice(["1", "12", "123", "1234", "12345", "01", "007", "69", "99", "11"])
    if r < 0.6:
        return year(rng)
    if r < 0.8:
        return year(rng)[2:]
    return str(rng.randrange(0, 1000))


def symbol(rng):
    return rng.choice(SYMBOLS)


def leet(rng, w, density):
    out = []
    for c in w:
        subs = L33T.get(c.lower())
        out.append(rng.choice(subs) if subs and rng.random() < density else c)
    return "".join(out)


def word_digits(rng):
    s = cap(rng, rng.choice(WORDS)) + digits(rng)
    return s + symbol(rng) if rng.random() < 0.45 else s


def word_year_symbol(rng):
    w = cap(rng, rng.choice(WORDS + PLACES))
    sep = symbol(rng) if rng.random() < 0.3 else ""
    return w + sep + year(rng) + (symbol(rng) if rng.random() < 0.6 else "")


def leet_word(rng):
    w = leet(rng, rng.choice(WORDS), rng.choice([0.5, 0.8, 1.0]))
    w = cap(rng, w)
    return w + (digits(rng) if rng.random() < 0.6 else "") + (symbol(rng) if rng.random() < 0.5 else "")


def name_date(rng):
    n = cap(rng, rng.choice(NAMES))
    r = rng.random()
    if r < 0.35:
        tail = year(rng)
    elif r < 0.7:
        tail = "%02d%02d" % (rng.randrange(1, 13), rng.randrange(1, 29))
    else:
        tail = "%02d%02d%s" % (rng.randrange(1, 29), rng.randrange(1, 13), year(rng)[2:])
    sep = rng.choice(["", "", "", ".", "_", "@", "#"])
    return n + sep + tail + (symbol(rng) if rng.random() < 0.25 else "")


def two_names(rng):
    a, b = cap(rng, rng.choice(NAMES)), cap(rng, rng.choice(NAMES))
    return a + rng.choice(["&", "+", "", "and", "4"]) + b + (digits(rng) if rng.random() < 0.7 else "")


def keyboard_walk(rng):
    w = rng.choice(WALKS)
    r = rng.random()
    if r < 0.3:
        w = w + digits(rng)
    elif r < 0.5:
        w = w.capitalize() + symbol(rng)
    elif r < 0.65:
        w = w + rng.choice(WALKS)
    return w


def passphrase(rng, lo, hi):
    n = rng.randrange(lo, hi + 1)
    words = [rng.choice(PASSPHRASE_WORDS) for _ in range(n)]
    if rng.random() < 0.4:
        words = [w.capitalize() for w in words]
    sep = rng.choice(["-", " ", ".", "_", "", "#", "+"])
    s = sep.join(words)
    if rng.random() < 0.5:
        s += rng.choice(["", sep]) + str(rng.randrange(0, 100))
    return s


def random_string(rng, lo, hi):
    alphabet = rng.choice(GENERATOR_ALPHABETS)
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(lo, hi + 1)))


def place_team(rng):
    return cap(rng, rng.choice(PLACES)) + rng.choice(["", "", "#", "!", "_"]) + digits(rng)


def accented(rng):
    return rng.choice(ACCENTED) + digits(rng) + (symbol(rng) if rng.random() < 0.5 else "")


def sentence(rng):
    """A longer passphrase-like sentence, as people type them."""
    words = [rng.choice(WORDS + PASSPHRASE_WORDS) for _ in range(rng.randrange(3, 6))]
    s = rng.choice([" ", "", "-"]).join(words)
    s = s[0].upper() + s[1:]
    return s + rng.choice(["", "!", ".", "?", "1", "2024", "!!"])


# (weight, shape) for 8-20 character lists: leaked-list style.
SHORT_SHAPES = [
    (20, word_digits),
    (12, word_year_symbol),
    (12, leet_word),
    (14, name_date),
    (5, two_names),
    (9, keyboard_walk),
    (9, lambda rng: passphrase(rng, 2, 3)),
    (12, lambda rng: random_string(rng, 8, 20)),
    (5, place_team),
    (2, accented),
]

# 8-40 characters: the same shapes plus longer passphrases and generator output.
LONG_SHAPES = SHORT_SHAPES + [
    (10, lambda rng: passphrase(rng, 3, 6)),
    (8, lambda rng: random_string(rng, 16, 40)),
    (6, sentence),
    (4, lambda rng: leet(rng, passphrase(rng, 3, 5), 0.6)),
    (4, lambda rng: word_digits(rng) + symbol(rng) + word_digits(rng)),
]


def generate(seed, count, lo, hi, shapes):
    rng = random.Random(seed)
    total = sum(w for w, _ in shapes)
    seen = set()
    out = []
    while len(out) < count:
        pick = rng.randrange(total)
        for weight, shape in shapes:
            if pick < weight:
                break
            pick -= weight
        pw = shape(rng)
        if not (lo <= len(pw) <= hi) or pw in seen:
            continue
        seen.add(pw)
        out.append(pw)
    return out


OUTPUTS = [
    ("benches/fixtures/passwords-2000.txt", 2000, 2000, 8, 20, SHORT_SHAPES),
    ("benches/fixtures/passwords-10000.txt", 10000, 10000, 8, 20, SHORT_SHAPES),
    ("tests/data/ordinary-passwords.txt", 40, 1200, 8, 40, LONG_SHAPES),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    differ = False
    for rel, seed, count, lo, hi, shapes in OUTPUTS:
        text = "".join(p + "\n" for p in generate(seed, count, lo, hi, shapes)).encode("utf-8")
        path = os.path.join(ROOT, rel)
        if args.check:
            try:
                with open(path, "rb") as f:
                    same = f.read() == text
            except FileNotFoundError:
                same = False
            if not same:
                print(f"{rel}: differs from the generator's output", file=sys.stderr)
                differ = True
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(text)
        print(f"{rel}: {count} lines")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
