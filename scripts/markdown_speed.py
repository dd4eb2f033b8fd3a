"""How fast resources/markdown.py renders: a typical 500-word article body, a 100,000-character
body (the largest the API takes), and inputs made to be slow.

    .venv/bin/python scripts/markdown_speed.py       # about a minute

Figures are CPU time per body on one core (so that other work on the machine does not inflate
them), each the median of several runs."""

import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resources.markdown import markdown_render, reading_time_minutes

VOCABULARY = (
    "the dragon flew over mountains and rivers while knights trained with swords shields "
    "armour in castle courtyards a young squire wrote letters home about battles feasts "
    "songs maps ships harbours markets bread cheese wine every evening"
)
WORDS = VOCABULARY.split()


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def article(rng: random.Random, target_words: int) -> str:
    """An article body as people write them: headings, paragraphs with emphasis, links and code
    spans, lists, a quote, a table and a fenced code block."""
    makers: list[Callable[[], str]] = [
        lambda: f"## {sentence(rng, 4)[:-1]}",
        lambda: (
            " ".join(sentence(rng, rng.randint(8, 16)) for _ in range(3))
            + " See [the guide](https://guide.example/dragons) and *more* **here**."
        ),
        lambda: "\n".join(f"- {sentence(rng, 5)} `item_{i}`" for i in range(3)),
        lambda: (
            " ".join(sentence(rng, rng.randint(8, 16)) for _ in range(3))
            + " Also https://maps.example/route and ~~old~~ news."
        ),
        lambda: f"> {sentence(rng, 12)}",
        lambda: "| Knight | Wins |\n| :-- | --: |\n| Arthur | 12 |\n| Lancelot | 9 |",
        lambda: "```python\ndef fly(dragon):\n    return dragon.wings * 2\n```",
    ]
    parts: list[str] = []
    while sum(len(part.split()) for part in parts) < target_words:
        parts.append(makers[len(parts) % len(makers)]())
    return "\n\n".join(parts)


def seconds(function: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.process_time()
        function()
        timings.append(time.process_time() - started)
    return statistics.median(timings)


def main() -> None:
    rng = random.Random(1)
    typical = article(rng, 500)
    largest = article(rng, 20_000)[:100_000]
    print(f"{'body':<44} {'chars':>8} {'render':>11} {'reading time':>13}")
    for name, body, runs in [
        (f"typical article, {len(typical.split())} words", typical, 200),
        ("largest body", largest, 10),
    ]:
        markdown_render(body)
        render = seconds(partial(markdown_render, body), runs)
        reading = seconds(partial(reading_time_minutes, body), runs)
        print(f"{name:<44} {len(body):>8,} {render * 1000:>8.2f} ms {reading * 1e6:>10.0f} us")
    print("\nInputs made to be slow (100,000 characters unless said):")
    for name, body in [
        ("'![' repeated (image labels never closed)", "![" * 50_000),
        ("'[' repeated (link labels never closed)", "[" * 100_000),
        ("'*_' repeated (emphasis delimiters)", "*_" * 50_000),
        ("'<div>' repeated (deep HTML nesting)", "<div>" * 20_000),
        ("'> ' repeated (deep quote nesting)", "> " * 50_000),
        ("'`' repeated, then a letter", "`" * 99_999 + "a"),
        ("bare URLs", "https://x.example/ " * 5_000),
        ("a table of 25,000 rows", "|a|\n|-|\n" + "|x|\n" * 24_998),
        ("10,000 characters of '![' (a comment)", "![" * 5_000),
    ]:
        print(f"  {name:<44} {seconds(partial(markdown_render, body), 1):>7.2f} s")


if __name__ == "__main__":
    main()
