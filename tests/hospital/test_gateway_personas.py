"""The simulated gateway's data set linked to the card simulator's personas: a scenario per
seed, the documented default mapping, the seed finder, and ``--personas N`` in a process."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from hospital_adapter.config import GatewaySettings
from hospital_adapter.errors import GatewayUnavailableError
from hospital_adapter.gateway import Decision, GatewayClient, LookupQuery
from hospital_adapter.identity import BirthDate
from simulators.bhxh_gateway import (
    CHILD_WITHOUT_CARD,
    EXPIRED,
    INSURED,
    MILITARY,
    NEW_CARD_OLD_EXPIRED,
    NEW_CARD_OLD_VALID,
    PERSONA_SCENARIOS,
    POLICE,
    REVOKED,
    TERMINATED,
    UNLINKED,
    Dataset,
    Scenario,
    control,
    find_persona_seed,
    persona_scenario,
    serve,
)
from simulators.persona import Persona, make_persona

from .conftest import ACCOUNT

ROOT = Path(__file__).resolve().parents[2]

# Seed → scenario of the documented default mapping (docs/hospital_adapter.md).
DOCUMENTED = {
    0: INSURED,
    1: UNLINKED,
    3: EXPIRED,
    5: NEW_CARD_OLD_EXPIRED,
    7: NEW_CARD_OLD_VALID,
    9: MILITARY,
    11: REVOKED,
    13: POLICE,
    15: TERMINATED,
    20: INSURED,
    23: EXPIRED,
}


def _query(persona: Persona) -> LookupQuery:
    return LookupQuery(persona.id_number, persona.full_name, BirthDate.of(persona.date_of_birth))


def test_records_carry_the_personas_data() -> None:
    dataset = Dataset.for_personas(range(20))
    assert [r.person.seed for r in dataset.records] == list(range(20))
    for record in dataset.records:
        persona = make_persona(record.person.seed or 0)
        person = record.person
        assert (person.id_number, person.full_name, person.date_of_birth) == (
            persona.id_number,
            persona.full_name,
            persona.date_of_birth,
        )
        assert (person.sex, record.address) == (persona.sex.value, persona.place_of_residence)
        assert record.scenario == PERSONA_SCENARIOS[persona.seed % 20]
        assert record.card_number.startswith(record.scenario.group)
    assert dataset.for_seed(7).new_card_number.startswith("DN4")
    with pytest.raises(LookupError, match="no persona 20"):
        dataset.for_seed(20)


def test_the_documented_mapping() -> None:
    dataset = Dataset.for_personas(DOCUMENTED)
    assert {seed: dataset.for_seed(seed).scenario for seed in DOCUMENTED} == DOCUMENTED
    counts = Counter(persona_scenario(make_persona(seed)) for seed in range(100))
    assert counts[INSURED] == 60  # most personas are insured
    assert set(counts) == {INSURED, UNLINKED, EXPIRED, NEW_CARD_OLD_EXPIRED, NEW_CARD_OLD_VALID,
                           MILITARY, POLICE, REVOKED, TERMINATED}  # fmt: skip


def test_a_personas_scenario_and_card_do_not_depend_on_the_other_seeds() -> None:
    alone = Dataset.for_personas([27], today=date(2025, 6, 1)).for_seed(27)
    among = Dataset.for_personas(range(40), today=date(2025, 6, 1)).for_seed(27)
    assert alone == among
    assert alone.scenario == NEW_CARD_OLD_VALID


def test_personas_under_6_are_children_without_a_card() -> None:
    today = date(2012, 6, 1)  # personas are born 1935–2011: some are under 6 then
    dataset = Dataset.for_personas(range(60), today=today)
    children = {seed for seed in range(60) if make_persona(seed).age_on(today) < 6}
    assert children  # the test means something
    for record in dataset.records:
        assert (record.scenario == CHILD_WITHOUT_CARD) == (record.person.seed in children)
    assert find_persona_seed(CHILD_WITHOUT_CARD, today=today) == min(children)
    with pytest.raises(LookupError, match=r"no persona seed in \[0, 200\)"):
        find_persona_seed(CHILD_WITHOUT_CARD, limit=200)  # nobody is under 6 today


def test_find_persona_seed() -> None:
    assert find_persona_seed(INSURED) == 0
    assert find_persona_seed(INSURED, start=1) == 2
    assert find_persona_seed(EXPIRED) == 3  # "an uninsured persona"
    assert find_persona_seed(UNLINKED, start=2) == 21
    for scenario in set(PERSONA_SCENARIOS):
        assert persona_scenario(make_persona(find_persona_seed(scenario))) == scenario
    custom = (Scenario("090"), Scenario("080"))
    assert find_persona_seed(Scenario("080"), scenarios=custom) == 1
    assert Dataset.for_personas([4], custom).for_seed(4).scenario == Scenario("090")


def test_each_scenario_answers_over_http() -> None:
    seeds = {scenario: find_persona_seed(scenario) for scenario in set(PERSONA_SCENARIOS)}
    expected = {scenario: scenario.outcome for scenario in seeds} | {UNLINKED: "050"}
    with serve(Dataset.for_personas(range(20))) as gateway:
        settings = GatewaySettings(url=gateway.url, timeout_s=2.0)
        with GatewayClient(settings, ACCOUNT) as client:
            answers = {
                s: client.lookup(_query(make_persona(seed))).raw_code for s, seed in seeds.items()
            }
            insured = client.lookup(_query(make_persona(find_persona_seed(INSURED))))
    assert answers == expected
    assert insured.decision is Decision.INSURED
    assert insured.holder is not None and insured.holder.full_name == make_persona(0).full_name


def _read_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            process.kill()
            pytest.fail(f"no output within {timeout_s} s")
    return process.stdout.readline()


def test_personas_option_in_a_separate_process() -> None:
    command = [sys.executable, "-m", "simulators.bhxh_gateway", "--personas", "12"]
    listing = subprocess.run(
        [*command, "--list"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    lines = listing.stdout.splitlines()
    assert len(lines) == 12
    assert lines[3].startswith("persona 3    010 linked=True  " + make_persona(3).id_number)
    old_options = ["--people", "3", "--seed", "5", "--list"]
    old = subprocess.run([*command[:3], *old_options], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    assert len(old.stdout.splitlines()) == 3 and "persona" not in old.stdout
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        line = _read_line(process, 30.0)
        assert line.startswith("BHXH gateway simulator listening on http://127.0.0.1:")
        url = line.split()[-1]
        settings = GatewaySettings(url=url, timeout_s=2.0, attempts=1, cache_ttl_s=0)
        with GatewayClient(settings, ACCOUNT) as client:
            expired = client.lookup(_query(make_persona(3)))
            assert (expired.raw_code, expired.decision) == ("010", Decision.SELF_PAY)
            control(url, {"down": True})
            with pytest.raises(GatewayUnavailableError):
                client.lookup(_query(make_persona(0)))
            control(url, {"down": False})
            assert client.lookup(_query(make_persona(0))).raw_code == "000"
        start = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - start < 2.0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
