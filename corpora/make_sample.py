"""Generate the sample corpus: English-like sentences with planted relations.

    python corpora/make_sample.py                 # writes corpora/sample.txt
    python corpora/make_sample.py -o out.txt --sentences 20000 --seed 7

Each word's contexts are built from independent *attributes*, so that vector
offsets carry meaning and analogies have a right answer:

* people: gender (he/his vs she/her contexts) × role (royal, common, family,
  young ...): king − man + woman → queen, uncle − brother + sister → aunt;
* countries and capitals: each pair shares its own language, river and dish;
  capitals appear with city words, countries with nation words:
  paris − france + italy → rome;
* verbs: base, past and -ing forms share the verb's own objects; the form
  decides the time words (today / yesterday / now): walked − walk + eat → ate;
* nouns: singular and plural share the noun's own contexts; the number words
  (one / two, many) decide the form: cats − cat + dog → dogs.

Filler words with Zipf-like frequencies make the text less regular. The
output is deterministic for a seed (Python's ``random``), one sentence a line.
"""
from __future__ import annotations

import argparse
import os
import random

PEOPLE = {  # word: (gender, role)
    "king": ("m", "royal"), "queen": ("f", "royal"),
    "prince": ("m", "royal_young"), "princess": ("f", "royal_young"),
    "man": ("m", "adult"), "woman": ("f", "adult"),
    "boy": ("m", "child"), "girl": ("f", "child"),
    "father": ("m", "parent"), "mother": ("f", "parent"),
    "son": ("m", "offspring"), "daughter": ("f", "offspring"),
    "brother": ("m", "sibling"), "sister": ("f", "sibling"),
    "uncle": ("m", "relative"), "aunt": ("f", "relative"),
    "husband": ("m", "spouse"), "wife": ("f", "spouse"),
    "actor": ("m", "stage"), "actress": ("f", "stage"),
}
GENDER = {"m": ["he", "his", "him", "himself", "mr"], "f": ["she", "her", "hers", "herself", "mrs"]}
ROLE = {
    "royal": ["throne", "crown", "reign", "palace", "kingdom"],
    "royal_young": ["heir", "castle", "royal", "ball", "tiara"],
    "adult": ["work", "job", "office", "street", "adult"],
    "child": ["school", "toy", "recess", "young", "kid"],
    "parent": ["children", "raised", "family", "home", "parent"],
    "offspring": ["born", "parents", "inherit", "grew", "eldest"],
    "sibling": ["siblings", "twin", "older", "younger", "shared"],
    "relative": ["nephew", "niece", "visited", "relatives", "cousins"],
    "spouse": ["married", "wedding", "marriage", "couple", "spouse"],
    "stage": ["film", "theatre", "role", "movie", "stage"],
}
PAIRS = [  # country, capital, language, river, dish
    ("france", "paris", "french", "seine", "croissant"),
    ("germany", "berlin", "german", "spree", "sausage"),
    ("italy", "rome", "italian", "tiber", "pasta"),
    ("spain", "madrid", "spanish", "tagus", "paella"),
    ("japan", "tokyo", "japanese", "sumida", "sushi"),
    ("egypt", "cairo", "arabic", "nile", "koshari"),
    ("russia", "moscow", "russian", "volga", "borscht"),
    ("greece", "athens", "greek", "kifisos", "souvlaki"),
    ("china", "beijing", "chinese", "yongding", "dumplings"),
    ("england", "london", "english", "thames", "pudding"),
    ("portugal", "lisbon", "portuguese", "douro", "bacalhau"),
    ("poland", "warsaw", "polish", "vistula", "pierogi"),
    ("austria", "vienna", "austrian", "danube", "schnitzel"),
    ("hungary", "budapest", "hungarian", "tisza", "goulash"),
    ("sweden", "stockholm", "swedish", "norrstrom", "meatballs"),
]
COUNTRY_WORDS = ["country", "nation", "border", "government", "population"]
CAPITAL_WORDS = ["city", "capital", "mayor", "streets", "downtown"]
VERBS = [  # base, past, -ing, objects
    ("walk", "walked", "walking", ["park", "path", "trail"]),
    ("eat", "ate", "eating", ["bread", "soup", "rice"]),
    ("write", "wrote", "writing", ["letter", "poem", "essay"]),
    ("sing", "sang", "singing", ["song", "choir", "melody"]),
    ("swim", "swam", "swimming", ["lake", "pool", "sea"]),
    ("cook", "cooked", "cooking", ["dinner", "kitchen", "stove"]),
    ("drive", "drove", "driving", ["truck", "road", "bus"]),
    ("speak", "spoke", "speaking", ["speech", "words", "voice"]),
    ("build", "built", "building", ["bridge", "wall", "tower"]),
    ("play", "played", "playing", ["game", "piano", "chess"]),
    ("fly", "flew", "flying", ["plane", "sky", "wings"]),
    ("see", "saw", "seeing", ["view", "light", "eyes"]),
]
TENSE = {
    0: ["today", "usually", "often", "always", "every"],
    1: ["yesterday", "ago", "last", "once", "then"],
    2: ["now", "currently", "is", "are", "still"],
}
NOUNS = [  # singular, plural, contexts
    ("cat", "cats", ["meow", "fur", "milk"]),
    ("dog", "dogs", ["bark", "leash", "bone"]),
    ("horse", "horses", ["saddle", "stable", "gallop"]),
    ("bird", "birds", ["nest", "feather", "beak"]),
    ("tree", "trees", ["leaf", "branch", "forest"]),
    ("car", "cars", ["engine", "wheel", "garage"]),
    ("house", "houses", ["roof", "door", "garden"]),
    ("book", "books", ["chapter", "library", "author"]),
    ("apple", "apples", ["orchard", "juice", "pie"]),
    ("wolf", "wolves", ["howl", "pack", "den"]),
    ("mouse", "mice", ["cheese", "trap", "squeak"]),
    ("cup", "cups", ["tea", "saucer", "handle"]),
]
NUMBER = {0: ["one", "single", "another", "each", "this"], 1: ["two", "many", "several", "these", "few"]}
FUNCTION = ["the", "of", "and", "in", "to", "a", "was", "that", "with", "for", "on", "as", "by", "at", "from"]


def filler_words(n: int = 400):
    """Pronounceable nonsense words, made deterministically from syllables."""
    rng = random.Random(12345)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fu", "go", "ha", "je", "po"]
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))))
    return sorted(words)


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fillers = filler_words()
        weights = [1.0 / (i + 1) for i in range(len(self.fillers))]  # Zipf
        self.filler_weights = weights

    def some(self, words, k):
        return self.rng.sample(words, k)

    def filler(self, k):
        return self.rng.choices(self.fillers, self.filler_weights, k=k)

    def shuffle_with_function(self, content):
        words = content + self.filler(self.rng.randint(1, 3)) + self.rng.sample(FUNCTION, 3)
        self.rng.shuffle(words)
        return words

    def person(self):
        word = self.rng.choice(list(PEOPLE))
        gender, role = PEOPLE[word]
        return [word] + self.some(GENDER[gender], 2) + self.some(ROLE[role], 2)

    def place(self):
        country, capital, language, river, dish = self.rng.choice(PAIRS)
        own = [language, river, dish]
        if self.rng.random() < 0.5:
            return [country] + self.some(own, 2) + self.some(COUNTRY_WORDS, 2)
        return [capital] + self.some(own, 2) + self.some(CAPITAL_WORDS, 2)

    def verb(self):
        forms = self.rng.choice(VERBS)
        tense = self.rng.randrange(3)
        return [forms[tense]] + self.some(forms[3], 2) + self.some(TENSE[tense], 2)

    def noun(self):
        singular, plural, contexts = self.rng.choice(NOUNS)
        number = self.rng.randrange(2)
        return [(singular, plural)[number]] + self.some(contexts, 2) + self.some(NUMBER[number], 2)

    def sentence(self):
        kinds = (self.person, self.place, self.verb, self.noun)
        return " ".join(self.shuffle_with_function(self.rng.choice(kinds)()))


def generate(path: str, sentences: int, seed: int) -> None:
    gen = Generator(seed)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for _ in range(sentences):
            f.write(gen.sentence() + "\n")
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("-o", "--output", default=os.path.join(here, "sample.txt"))
    parser.add_argument("--sentences", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args(argv)
    generate(args.output, args.sentences, args.seed)


if __name__ == "__main__":
    main()
