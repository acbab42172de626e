"""The text catalogs and the configuration file."""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path

import pytest

import kiosk
from hospital_adapter import Priority
from hospital_adapter.config import validate
from hospital_adapter.errors import ConfigurationError
from kiosk.config import (
    KioskConfig,
    Language,
    Policy,
    Question,
    default_config_text,
    load_config,
)
from kiosk.pin import PinHash
from kiosk.texts import CATALOGS, Texts, read_catalog
from kiosk.view import InsuranceState, Problem, Step, View


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    vi, en = CATALOGS[Language.VI], CATALOGS[Language.EN]
    assert set(vi) == set(en)
    for key in vi:
        assert _placeholders(vi[key]) == _placeholders(en[key]), key


def test_the_texts_are_gettext_catalogues_a_translator_edits() -> None:
    po = Path(kiosk.__file__).parent / "locale" / "vi" / "LC_MESSAGES" / "kiosk.po"
    assert 'msgid "idle.title"\nmsgstr "Xin chào! Mời quý khách đăng ký khám"' in po.read_text()
    for language in Language:
        catalog = read_catalog(language)
        assert catalog == CATALOGS[language] and all(catalog.values()), language


def test_patients_are_addressed_respectfully() -> None:
    """ "quý khách", as Vietnamese public-service kiosks do; never the familiar "bạn"."""
    vi = CATALOGS[Language.VI]
    assert not [key for key, text in vi.items() if re.search(r"\bbạn\b", text, re.IGNORECASE)]
    assert vi["ticket.title"] == "Số thứ tự của quý khách"


@pytest.mark.parametrize("language", list(Language))
def test_every_problem_step_and_choice_has_words(language: Language) -> None:
    texts = Texts(language)
    for problem in Problem:
        title, body = texts.problem(problem)
        assert title and body
    for step in Step:
        if step is Step.CHOOSE_PRIORITY:
            continue
        voice = texts.voice(View(step))
        assert (voice is None) == (step in (Step.TICKET, Step.PROBLEM))
    for question in Question:
        asked = View(Step.CHOOSE_PRIORITY, question=question)
        assert texts.voice(asked) == texts(f"priority.title.{question.value}")
    for priority in Priority:
        assert texts.priority(priority)
    for state in InsuranceState:
        assert texts.insurance(state, "31/12/2026")


def test_vietnamese_is_the_default_and_toggles() -> None:
    texts = Texts()
    assert texts("button.continue") == "Đúng, tiếp tục"
    texts.toggle()
    assert texts("button.continue") == "Yes, continue"
    assert texts("problem.counter", counter=3) == "Please go to counter 3."


def test_default_configuration() -> None:
    config = load_config(env={})
    assert config.kiosk.language is Language.VI
    assert config.kiosk.untrusted_card is Policy.ALLOW
    assert [d.code for d in config.departments] == ["K01", "K02", "K03", "K04", "K05", "K06"]
    assert config.department("K03").name_vi == "Tai Mũi Họng"
    assert config.his.port == 2575
    pin = PinHash.parse(config.admin.pin_hash)
    assert pin.matches("2468") and not pin.matches("2469")


ONE_OF = "Input should be 'allow' or 'counter'"


@pytest.mark.parametrize(
    ("patch", "problems"),
    [
        ({"kiosk": {"colour": "red"}}, [("kiosk.colour", "unknown key")]),
        ({"kiosk": {"untrusted_card": "maybe"}}, [("kiosk.untrusted_card", ONE_OF)]),
        ({"timeouts": {"idle_s": "long"}}, [("timeouts.idle_s", "Input should be a valid number")]),
        (
            {"timeouts": {"idle_s": 10, "countdown_s": 20}},
            [("timeouts.countdown_s", "must be less than idle_s")],
        ),
        ({"lobby": {}}, [("lobby", "unknown key")]),
        (
            {"departments": [{"code": "K01"}]},
            [
                ("departments[0].name_vi", "required"),
                ("departments[0].name_en", "required"),
                ("departments[0].room", "required"),
            ],
        ),
        ({"departments": []}, [("departments", "list at least one department")]),
    ],
)
def test_bad_configuration_is_refused_with_every_key(
    patch: dict[str, object], problems: list[tuple[str, str]]
) -> None:
    data = tomllib.loads(default_config_text())
    data.update(patch)
    with pytest.raises(ConfigurationError) as refused:
        validate(KioskConfig, data)
    assert [(p.key, p.reason) for p in refused.value.problems] == problems


def test_config_from_a_file_and_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(default_config_text().replace('language = "vi"', 'language = "en"'))
    assert load_config(env={"CCCD_KIOSK_CONFIG": str(path)}).kiosk.language is Language.EN
    with pytest.raises(ConfigurationError) as missing:
        load_config(tmp_path / "missing.toml")
    assert str(missing.value) == "file: cannot read: No such file or directory"
    path.write_text("[kiosk\n")
    with pytest.raises(ConfigurationError) as malformed:
        load_config(path)
    assert str(malformed.value) == (
        "file: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 7)"
    )
