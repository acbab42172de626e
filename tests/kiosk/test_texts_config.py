"""The text catalogs and the configuration file."""

from __future__ import annotations

import string
import tomllib
from pathlib import Path

import pytest

from hospital_adapter import Priority
from kiosk.config import (
    ConfigError,
    Language,
    Policy,
    default_config_text,
    load_config,
    parse_config,
    pin_matches,
)
from kiosk.flow import InsuranceState, Problem, Step
from kiosk.texts import CATALOGS, Texts


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    vi, en = CATALOGS[Language.VI], CATALOGS[Language.EN]
    assert set(vi) == set(en)
    for key in vi:
        assert _placeholders(vi[key]) == _placeholders(en[key]), key


@pytest.mark.parametrize("language", list(Language))
def test_every_problem_step_and_choice_has_words(language: Language) -> None:
    texts = Texts(language)
    for problem in Problem:
        title, body = texts.problem(problem)
        assert title and body
    for step in Step:
        voice = texts.voice(step)
        assert (voice is None) == (step in (Step.TICKET, Step.PROBLEM))
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
    assert config.hospital.his.port == 2575
    assert pin_matches(config.admin, "2468") and not pin_matches(config.admin, "2469")


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"kiosk": {"colour": "red"}}, "unknown setting"),
        ({"kiosk": {"untrusted_card": "maybe"}}, "must be one of"),
        ({"timeouts": {"idle_s": "long"}}, "must be of type float"),
        ({"timeouts": {"idle_s": 10, "countdown_s": 20}}, "countdown_s"),
        ({"lobby": {}}, "unknown table"),
        ({"departments": [{"code": "K99", "name_vi": "X", "name_en": "X", "room": "1"}]}, "K99"),
        ({"departments": [{"code": "K01"}]}, "needs exactly"),
    ],
)
def test_bad_configuration_is_refused_with_a_reason(patch: dict[str, object], message: str) -> None:
    data = tomllib.loads(default_config_text())
    data.update(patch)
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_config_from_a_file_and_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(default_config_text().replace('language = "vi"', 'language = "en"'))
    assert load_config(env={"CCCD_KIOSK_CONFIG": str(path)}).kiosk.language is Language.EN
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    path.write_text("[kiosk\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
