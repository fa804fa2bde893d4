"""Fuzzing the two ways configuration comes in: the site file and the environment.

Whatever the input, the loader either returns a valid configuration (every number in
it finite) or raises its one error type with a one-line message naming the source; no
other exception escapes. The CLI prints that message as its ``error:`` line
(tests/bot/test_bad_input.py runs the real processes).
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.boundary import Context as BoundaryContext
from bot.boundary import explain, one_line
from bot.settings import Settings, SettingsInvalid, env_name, load_settings
from tools.errors import SiteConfigError
from tools.site import SiteFile, demo_site_file, load_site_file, parse_site_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_TEXT = (REPO / "sites.example.yaml").read_text(encoding="utf-8")

TWO_SITES: dict[str, Any] = {
    "sites": [
        {
            "name": "home",
            "timezone": "Europe/Berlin",
            "location": {"latitude": 52.5, "longitude": 13.4},
            "pv_arrays": [{"name": "roof", "kwp": 5, "tilt_deg": 35, "azimuth_deg": 180}],
            "battery": {"capacity_kwh": 10, "min_soc_pct": 15},
            "loads": [{"name": "miner-1", "power_kw": 1.2}],
            "actions": {"tiers": {"stop_miners": {"approvals": 2, "self_approve": False}}},
            "costs": {
                "grid_periods": [{"start": "22:00", "end": "06:00", "price_per_kwh": 0.1}],
            },
        },
        {
            "name": "barn",
            "location": {"latitude": 39.7, "longitude": -105.2},
            "generator": {
                "rated_kw": 8,
                "tank_l": 120,
                "fuel_curve": [[0.0, 0.6], [0.5, 1.3], [1.0, 2.4]],
            },
            "alerts": {"soc_critical_pct": 25, "soc_warning_pct": 35},
        },
    ],
    "people": [
        {"platform": "slack", "user_id": "U1", "role": "admin"},
        {"platform": "slack", "user_id": "U2", "role": "operator", "sites": ["home"]},
    ],
    "groups": [{"platform": "slack", "group_id": "S1", "role": "viewer"}],
}

BASES: list[dict[str, Any]] = [
    yaml.safe_load(EXAMPLE_TEXT),
    demo_site_file().model_dump(mode="json"),
    TWO_SITES,
]

# Values that have broken configuration loaders before, plus generated ones.
AWKWARD = [
    math.inf,
    -math.inf,
    math.nan,
    1e308,
    -0.0,
    0,
    -1,
    10**30,
    "",
    "inf",
    "nan",
    ".inf",
    "1e999",
    "x" * 300,
    "café",
    "\x00",
    True,
    None,
    [],
    {},
]
SCALARS = st.one_of(
    st.sampled_from(AWKWARD),
    st.floats(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=16),
    st.booleans(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)

Path_ = tuple[str | int, ...]


def _paths(node: Any, here: Path_ = ()) -> list[Path_]:
    out = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*here, i))
    return out


def _parent(doc: Any, path: Path_) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A known-good site file with one to three random edits: a value replaced, a key
    removed or added, a list entry duplicated."""
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        parent, last = _parent(doc, path), path[-1]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "duplicate"]))
        if op == "replace":
            parent[last] = draw(VALUES)
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(["name", "sites", "role", "kwp", "x"]))] = draw(
                VALUES
            )
        elif op == "duplicate" and isinstance(parent, list) and isinstance(last, int):
            parent.insert(last, copy.deepcopy(parent[last]))
    return doc


def _all_numbers_finite(node: Any) -> bool:
    if isinstance(node, float):
        return math.isfinite(node)
    if isinstance(node, dict):
        return all(_all_numbers_finite(v) for v in node.values())
    if isinstance(node, list | tuple):
        return all(_all_numbers_finite(v) for v in node)
    return True


def check_loaded(load: Any, source: str) -> SiteFile | None:
    """Run ``load``: a valid site file, or one line that names ``source``."""
    try:
        site_file = load()
    except SiteConfigError as err:
        message = str(err)
        assert "\n" not in message, message
        assert message.startswith(source), message
        assert explain(err, BoundaryContext()) == message
        return None
    assert isinstance(site_file, SiteFile)
    assert _all_numbers_finite(site_file.model_dump()), site_file
    return site_file


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(doc=mutated_documents())
def test_mutated_site_files_load_or_fail_in_one_line(doc: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sites.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        check_loaded(lambda: load_site_file(path), str(path))


@FUZZ
@given(doc=VALUES | st.fixed_dictionaries({"sites": VALUES}))
def test_arbitrary_documents_fail_in_one_line(doc: Any) -> None:
    check_loaded(lambda: parse_site_file(doc, source="fuzz.yaml"), "fuzz.yaml")


@FUZZ
@given(
    position=st.integers(min_value=0, max_value=len(EXAMPLE_TEXT.encode())),
    junk=st.binary(min_size=1, max_size=8),
    cut=st.booleans(),
)
def test_damaged_bytes_fail_in_one_line(position: int, junk: bytes, cut: bool) -> None:
    raw = EXAMPLE_TEXT.encode()
    damaged = raw[:position] + junk + (b"" if cut else raw[position:])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sites.yaml"
        path.write_bytes(damaged)
        check_loaded(lambda: load_site_file(path), str(path))


# --- the loader's specific refusals (the fuzzers above only check the shape) --------------


def _write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("sites", 0, "battery", "capacity_kwh"), math.inf),
        (("sites", 0, "loads", 0, "power_kw"), math.nan),
        (("sites", 1, "generator", "fuel_curve", 1, 1), math.inf),
        (("sites", 0, "costs", "grid_periods", 0, "price_per_kwh"), math.nan),
        (("sites", 0, "location", "latitude"), -math.inf),
    ],
)
def test_non_finite_numbers_are_refused(tmp_path: Path, where: Path_, value: float) -> None:
    doc = copy.deepcopy(TWO_SITES)
    _parent(doc, where)[where[-1]] = value
    with pytest.raises(SiteConfigError) as info:
        load_site_file(_write(tmp_path, doc))
    assert "finite number" in str(info.value)


@pytest.mark.parametrize("curve", [[], [[0.5, 1.0]]])
def test_short_fuel_curve_is_refused_not_a_crash(tmp_path: Path, curve: list[Any]) -> None:
    """Found by the fuzzer: an empty fuel_curve raised IndexError out of the loader."""
    doc = copy.deepcopy(TWO_SITES)
    doc["sites"][1]["generator"]["fuel_curve"] = curve
    with pytest.raises(SiteConfigError, match=r"sites\[1\]\.generator: fuel_curve must have >= 2"):
        load_site_file(_write(tmp_path, doc))


def test_the_same_person_twice_is_refused_even_with_the_same_role(tmp_path: Path) -> None:
    doc = copy.deepcopy(TWO_SITES)
    doc["people"].append({"platform": "slack", "user_id": "U2", "role": "operator"})
    with pytest.raises(SiteConfigError, match=r"people\[2\].*'U2'.*people\[1\]"):
        load_site_file(_write(tmp_path, doc))
    doc["people"][2]["platform"] = "discord"  # the same id on another platform is another person
    assert len(load_site_file(_write(tmp_path, doc)).people) == 3


def test_a_group_twice_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(TWO_SITES)
    doc["groups"].append({"platform": "slack", "group_id": "S1", "role": "admin"})
    with pytest.raises(SiteConfigError, match=r"groups\[1\].*'S1'"):
        load_site_file(_write(tmp_path, doc))


def test_a_person_limited_to_an_unknown_site_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(TWO_SITES)
    doc["people"][1]["sites"] = ["home", "shed"]
    with pytest.raises(SiteConfigError, match=r"people\[1\]\.sites.*'shed'.*home, barn"):
        load_site_file(_write(tmp_path, doc))


def test_yaml_syntax_error_is_one_line_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("sites:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(SiteConfigError) as info:
        load_site_file(path)
    assert "\n" not in str(info.value)
    assert "not valid YAML: line 3" in str(info.value)


# --- the environment ---------------------------------------------------------------------

ENV_NAMES = sorted({env_name(field) for field in Settings.model_fields})
ENV_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=12,
)
ENV_VALUES = st.one_of(
    st.sampled_from(
        [
            "inf",
            "-inf",
            "nan",
            "NaN",
            "1e999",
            "-1",
            "0",
            "65536",
            "abc",
            "",
            "{}",
            "[]",
            "{rollup: 60",
            '{"rollup": 600}',
            '{"rollup": "x"}',
            '{"rollup": -1}',
            '{"rollup": NaN}',
            "true",
            "json",
            "open-meteo",
        ]
    ),
    st.integers().map(str),
    st.floats().map(str),
    ENV_TEXT,
)


@settings(max_examples=100, deadline=None)
@given(env=st.dictionaries(st.sampled_from(ENV_NAMES), ENV_VALUES, min_size=1, max_size=4))
def test_environment_loads_or_fails_in_one_line(env: dict[str, str]) -> None:
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as folder:
        mp.chdir(folder)  # no .env file
        for name in ENV_NAMES:
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        try:
            loaded = load_settings()
        except SettingsInvalid as err:
            message = str(err)
            assert "\n" not in message and message, message
            assert any(name in message for name in env), (env, message)
            assert explain(err, BoundaryContext()) == one_line(message)
            return
    assert _all_numbers_finite(loaded.model_dump()), loaded
    assert 0 <= loaded.http_port <= 65535
    assert all(s > 0 for s in loaded.job_intervals.values())


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"http_port": 99999}, "--port=99999: Input should be less than or equal to 65535"),
        ({"http_port": -1}, "--port=-1"),
        ({"site_file": 5}, "COMMANDCENTER_SITE_FILE=5: Input is not a valid path"),
    ],
)
def test_command_line_overrides_are_validated(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(SettingsInvalid) as info:
        load_settings(overrides=overrides, flags={"http_port": "--port"})
    assert expected in str(info.value)
