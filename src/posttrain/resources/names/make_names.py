"""Regenerate ``given.txt`` and ``family.txt``: the name lists of the residual PII scan.

    .venv/bin/python src/posttrain/resources/names/make_names.py

They come from Faker's person providers (a maintained package; a dev dependency, only
this script needs it): given and family names of the locales below, romanised where
Faker has a romanised list (zh_CN, ja_JP), one name a line, sorted. The scan flags a
capitalised given name followed by a capitalised family name from these lists
(:mod:`posttrain.data.residual`), so every name here is a real person's name in some
locale; the build never imports Faker.
"""

from __future__ import annotations

import importlib
from pathlib import Path

LOCALES = (
    "en_US", "en_GB", "en_IN", "en_PH", "en_NZ", "en_AU", "en_CA", "en_IE",
    "fr_FR", "it_IT", "es_ES", "de_DE", "pt_BR", "nl_NL", "ar_AA", "tr_TR", "id_ID",
    "zh_CN", "zh_TW", "ja_JP", "ko_KR", "vi_VN", "th_TH",
)  # fmt: skip
GIVEN = ("first_names", "first_names_male", "first_names_female", "first_romanized_names")
FAMILY = ("last_names", "last_romanized_names")


def _words(provider: type, attrs: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for attr in attrs:
        names = getattr(provider, attr, None) or ()
        for name in names:  # a tuple, or an OrderedDict of name -> weight
            name = str(name).strip()
            if name.isascii() and name.isalpha() and len(name) >= 2 and name[0].isupper():
                out.add(name)
    return out


def main() -> None:
    given: set[str] = set()
    family: set[str] = set()
    for loc in LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        except ModuleNotFoundError:
            continue
        given |= _words(provider, GIVEN)
        family |= _words(provider, FAMILY)
    here = Path(__file__).resolve().parent
    (here / "given.txt").write_text("\n".join(sorted(given)) + "\n", encoding="utf-8")
    (here / "family.txt").write_text("\n".join(sorted(family)) + "\n", encoding="utf-8")
    print(f"{len(given)} given names, {len(family)} family names")


if __name__ == "__main__":
    main()
