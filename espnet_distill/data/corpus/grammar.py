"""A small English text grammar for the synthetic speech corpus.

Sentences are drawn from a handful of templates (digit strings, dates, times,
device commands, counting sentences, short statements and questions) over a
vocabulary of a few hundred words, so a character CTC model has something real to
learn while the closed grammar keeps tiny models trainable on a CPU. Everything is
drawn from one :class:`random.Random`, so a seed fixes the text exactly.

Text is upper case with single spaces and apostrophes only, like LibriSpeech
transcripts.
"""

from __future__ import annotations

import random
from typing import Callable, Dict, List

ONES = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
TEENS = ["TEN", "ELEVEN", "TWELVE", "THIRTEEN", "FOURTEEN", "FIFTEEN", "SIXTEEN",
         "SEVENTEEN", "EIGHTEEN", "NINETEEN"]
TENS = ["", "", "TWENTY", "THIRTY", "FORTY", "FIFTY", "SIXTY", "SEVENTY", "EIGHTY", "NINETY"]
ORDINALS = ["FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "SEVENTH", "EIGHTH",
            "NINTH", "TENTH", "ELEVENTH", "TWELFTH", "THIRTEENTH", "FOURTEENTH", "FIFTEENTH",
            "SIXTEENTH", "SEVENTEENTH", "EIGHTEENTH", "NINETEENTH", "TWENTIETH",
            "TWENTY FIRST", "TWENTY SECOND", "TWENTY THIRD", "TWENTY FOURTH", "TWENTY FIFTH",
            "TWENTY SIXTH", "TWENTY SEVENTH", "TWENTY EIGHTH", "TWENTY NINTH", "THIRTIETH",
            "THIRTY FIRST"]
MONTHS = ["JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST",
          "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER"]
DAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
NAMES = ["ALICE", "BOB", "CAROL", "DAVID", "EMMA", "FRANK", "GRACE", "HENRY", "IRENE",
         "JACK", "KATE", "LEO", "MARY", "NICK", "OLIVIA", "PETER", "RACHEL", "SAM",
         "TOM", "VICTOR"]
COLORS = ["RED", "GREEN", "BLUE", "YELLOW", "BLACK", "WHITE", "ORANGE", "PURPLE", "BROWN", "GREY"]
OBJECTS = ["APPLE", "BOOK", "CUP", "CHAIR", "LAMP", "PENCIL", "BOX", "BOTTLE", "TICKET",
           "KEY", "STONE", "FLOWER", "SHIRT", "PLATE", "CARD", "BALL", "COIN", "BAG"]
PLACES = ["KITCHEN", "GARDEN", "OFFICE", "STATION", "LIBRARY", "MARKET", "HARBOUR",
          "BRIDGE", "SCHOOL", "HOSPITAL", "AIRPORT", "MUSEUM", "PARK", "HOTEL"]
DEVICES = ["LIGHTS", "HEATER", "RADIO", "TELEVISION", "FAN", "OVEN", "ALARM", "MUSIC",
           "CAMERA", "PRINTER", "WINDOW BLINDS", "COFFEE MACHINE"]
ROOMS = ["LIVING ROOM", "BEDROOM", "KITCHEN", "BATHROOM", "HALLWAY", "GARAGE", "STUDY"]
VERBS_ON = ["TURN ON", "TURN OFF", "SWITCH ON", "SWITCH OFF", "START", "STOP", "OPEN", "CLOSE"]
ADJECTIVES = ["SMALL", "LARGE", "OLD", "NEW", "HEAVY", "LIGHT", "CLEAN", "QUIET", "WARM",
              "COLD", "BRIGHT", "DARK", "EMPTY", "FULL", "SOFT", "SHARP"]
WEATHER = ["SUNNY", "CLOUDY", "RAINY", "WINDY", "FOGGY", "SNOWY", "STORMY", "CLEAR"]
ANIMALS = ["DOG", "CAT", "HORSE", "BIRD", "FISH", "RABBIT", "FOX", "OWL", "BEAR", "GOAT"]
SUBJECTS = ["THE TRAIN", "THE MEETING", "THE CONCERT", "THE LESSON", "THE FLIGHT",
            "THE MATCH", "THE PARTY", "DINNER", "THE BUS", "THE SHOW"]


def number_words(n: int) -> str:
    """Spell 0..9999 the way people say it ("TWO THOUSAND TWENTY FOUR")."""
    if not 0 <= n < 10000:
        raise ValueError(f"number_words covers 0..9999, got {n}")
    if n < 10:
        return ONES[n]
    if n < 20:
        return TEENS[n - 10]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " HUNDRED" + ("" if rest == 0 else " " + number_words(rest))
    rest = n % 1000
    return ONES[n // 1000] + " THOUSAND" + ("" if rest == 0 else " " + number_words(rest))


def _year(rng: random.Random) -> str:
    y = rng.randint(1950, 2029)
    if y >= 2000:
        return number_words(y)
    return number_words(y // 100) + " " + number_words(y % 100)


def _time(rng: random.Random) -> str:
    hour = number_words(rng.randint(1, 12))
    minute = rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
    tail = rng.choice(["IN THE MORNING", "IN THE EVENING", "", ""])
    said = hour + (" O'CLOCK" if minute == 0 else " " + number_words(minute))
    return (said + " " + tail).strip()


def _digits(rng: random.Random) -> str:
    return " ".join(rng.choice(ONES + ["OH"]) for _ in range(rng.randint(3, 7)))


def _plural(word: str, n: int) -> str:
    if n == 1:
        return word
    if word.endswith(("X", "S", "SH", "CH")):
        return word + "ES"
    return word + "S"


TEMPLATES: Dict[str, Callable[[random.Random], str]] = {
    "digits": lambda r: _digits(r),
    "phone": lambda r: f"CALL {r.choice(NAMES)} ON {_digits(r)}",
    "date": lambda r: f"{r.choice(DAYS)} THE {r.choice(ORDINALS)} OF {r.choice(MONTHS)}",
    "year": lambda r: f"{r.choice(MONTHS)} {r.choice(ORDINALS)} {_year(r)}",
    "alarm": lambda r: f"SET AN ALARM FOR {_time(r)}",
    "timer": lambda r: f"SET A TIMER FOR {number_words(r.randint(1, 59))} MINUTES",
    "device": lambda r: f"{r.choice(VERBS_ON)} THE {r.choice(DEVICES)} IN THE {r.choice(ROOMS)}",
    "count": lambda r: (lambda n: f"{r.choice(NAMES)} HAS {number_words(n)} "
                        f"{r.choice(COLORS)} {_plural(r.choice(OBJECTS), n)}")(r.randint(1, 20)),
    "place": lambda r: f"{r.choice(NAMES)} WENT TO THE {r.choice(PLACES)} ON {r.choice(DAYS)}",
    "meet": lambda r: f"MEET {r.choice(NAMES)} AT THE {r.choice(PLACES)} AT {_time(r)}",
    "describe": lambda r: f"THE {r.choice(ADJECTIVES)} {r.choice(ANIMALS)} IS NEAR THE "
                          f"{r.choice(COLORS)} {r.choice(OBJECTS)}",
    "weather": lambda r: f"IT WILL BE {r.choice(WEATHER)} IN THE {r.choice(['MORNING', 'AFTERNOON', 'EVENING'])}",
    "question": lambda r: f"WHEN DOES {r.choice(SUBJECTS)} START",
    "move": lambda r: f"PUT THE {r.choice(COLORS)} {r.choice(OBJECTS)} IN THE {r.choice(ROOMS)}",
    "price": lambda r: f"THE {r.choice(OBJECTS)} COSTS {number_words(r.randint(2, 99))} DOLLARS",
    "volume": lambda r: f"SET THE VOLUME TO {number_words(r.randint(1, 10))}",
    "spell": lambda r: f"{r.choice(NAMES)} AND {r.choice(NAMES)} LIKE THE {r.choice(ADJECTIVES)} "
                       f"{r.choice(ANIMALS)}",
}


def sample_sentence(rng: random.Random) -> str:
    """One sentence from a template chosen uniformly."""
    name = rng.choice(sorted(TEMPLATES))
    return " ".join(TEMPLATES[name](rng).split())


def sample_sentences(n: int, seed: int) -> List[str]:
    """``n`` sentences, fixed by ``seed``."""
    rng = random.Random(seed)
    return [sample_sentence(rng) for _ in range(n)]


def vocabulary() -> List[str]:
    """Every word the grammar can produce (sorted)."""
    words = set(ONES + TEENS + [t for t in TENS if t] + MONTHS + DAYS + NAMES + COLORS + OBJECTS
                + PLACES + ANIMALS + ADJECTIVES + WEATHER + ["OH", "HUNDRED", "THOUSAND", "O'CLOCK"])
    for group in (ORDINALS, DEVICES, ROOMS, VERBS_ON, SUBJECTS):
        for phrase in group:
            words.update(phrase.split())
    words.update(_plural(o, 2) for o in OBJECTS)
    for template in TEMPLATES.values():
        rng = random.Random(0)
        for _ in range(200):
            words.update(template(rng).split())
    return sorted(words)
