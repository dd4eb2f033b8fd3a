"""How many payloads of the XSS corpus (tests/xss_corpus.yaml) do something in chromium when
nothing sanitizes them: the measure of the browser harness that tests/test_xss.py relies on.

    .venv/bin/python scripts/xss_census.py            # about four minutes; lists each payload

Markup payloads are loaded as they are; address payloads as the href of a clicked link. Those
that stay inert are the ones modern chromium ignores (Internet Explorer's expression() and
behaviors, javascript: in <img src>, marquee events, ...)."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import inert_in_browser
from tests.test_xss import CORPUS, attribute_value


def main() -> None:
    started = time.monotonic()
    cases = [(e["source"], e["payload"]) for e in CORPUS["html"]]
    cases += [
        (e["source"], f'<a href="{attribute_value(e["payload"])}">click</a>')
        for e in CORPUS["urls"]
    ]
    outcomes = inert_in_browser([payload for _, payload in cases], batch_size=1)
    for (source, _), outcome in zip(cases, outcomes, strict=True):
        kinds = ", ".join(sorted({event.kind for event in outcome.findings}))
        print(f"{'caught' if kinds else 'inert '}  {source}  {kinds}")
    markup = outcomes[: len(CORPUS["html"])]
    addresses = outcomes[len(CORPUS["html"]) :]
    print(
        f"\nCaught unsanitized: {sum(not o.inert for o in markup)} of {len(markup)} markup "
        f"payloads, {sum(not o.inert for o in addresses)} of {len(addresses)} address payloads "
        f"({time.monotonic() - started:.0f} s)."
    )


if __name__ == "__main__":
    main()
