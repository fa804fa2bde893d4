"""Site files: YAML and TOML load; every malformed input is refused with a message that
names the file, the field and what was expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tools.errors import SiteConfigError, UnknownSiteError
from tools.site import (
    Generator,
    SiteFile,
    default_fuel_curve,
    demo_site_file,
    load_site_file,
    parse_site_file,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

GOOD_YAML = """\
# a two-site file
sites:
  - name: barn
    title: Barn
    timezone: Europe/Berlin
    location: {latitude: 52.5, longitude: 13.4, altitude_m: 34}
    pv_arrays:
      - {name: roof, kwp: 6.5, tilt_deg: 35, azimuth_deg: 180}
    battery:
      capacity_kwh: 10
      min_soc_pct: 25
    loads:
      - {name: miner-a, power_kw: 1.2, relay: shelly-a}
      - {name: pump, kind: pump, power_kw: 0.5, initially_on: false}
    generator:
      rated_kw: 6
      tank_l: 80
      fuel_curve: [[0, 0.5], [0.5, 1.0], [1, 1.8]]
    grid: {present: false}
    devices:
      - {name: solark, driver: solark_modbus, connection: {host: 192.168.1.50}}
      - name: shelly-a
        driver: shelly
        connection: {host: 192.168.1.60, password_env: SHELLY_A_PASSWORD, load: miner-a}
    alerts: {soc_warning_pct: 50, soc_critical_pct: 35}
    actions: {expiry_minutes: 5}
  - name: shed
    location: {latitude: 1, longitude: 2}
people:
  - {platform: slack, user_id: U1, name: Olga, role: operator}
"""

GOOD_TOML = """\
[[sites]]
name = "factory"
timezone = "America/Chicago"

[sites.location]
latitude = 41.9
longitude = -87.6

[sites.battery]
capacity_kwh = 30
min_soc_pct = 15

[[sites.loads]]
name = "line-1"
kind = "other"
power_kw = 12

[sites.generator]
rated_kw = 40
tank_l = 500

[[people]]
platform = "discord"
user_id = "42"
role = "admin"
"""

MINIMAL_SITE = "sites:\n  - name: s1\n    location: {latitude: 1, longitude: 2}\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(SiteConfigError) as info:
        load_site_file(path)
    message = str(info.value)
    assert str(path) in message, f"the file is not named in: {message}"
    return message


def site_yaml(extra: str = "", *, name: str = "s1") -> str:
    """A one-site YAML file with ``extra`` lines indented under the site."""
    body = textwrap.indent(textwrap.dedent(extra), "    ")
    return f"sites:\n  - name: {name}\n    location: {{latitude: 1, longitude: 2}}\n{body}"


# --- files that load ---------------------------------------------------------------------------


def test_yaml_site_file_loads(tmp_path: Path) -> None:
    sf = load_site_file(write(tmp_path, "sites.yaml", GOOD_YAML))
    assert [s.name for s in sf.sites] == ["barn", "shed"]
    barn = sf.site("barn")
    assert barn.display_name == "Barn"
    assert str(barn.tz) == "Europe/Berlin"
    assert barn.battery is not None and barn.battery.min_soc_pct == 25
    assert barn.battery.max_charge_kw == 5.0  # default
    assert [m.name for m in barn.miners] == ["miner-a"]
    assert barn.loads[1].kind == "pump" and barn.loads[1].initially_on is False
    assert barn.generator is not None
    assert barn.generator.curve == [(0, 0.5), (0.5, 1.0), (1, 1.8)]
    assert barn.grid.present is False
    assert (barn.alerts.soc_warning_pct, barn.alerts.soc_critical_pct) == (50, 35)
    assert barn.actions.expiry_minutes == 5
    shed = sf.site("shed")
    assert shed.display_name == "shed" and shed.timezone == "UTC" and shed.battery is None
    assert sf.people[0].role == "operator"
    assert sf.site(None).name == "barn"


def test_yml_extension_loads(tmp_path: Path) -> None:
    sf = load_site_file(write(tmp_path, "sites.YML", MINIMAL_SITE))
    assert sf.sites[0].name == "s1"


def test_toml_site_file_loads(tmp_path: Path) -> None:
    sf = load_site_file(write(tmp_path, "sites.toml", GOOD_TOML))
    factory = sf.site("factory")
    assert factory.timezone == "America/Chicago"
    assert factory.battery is not None and factory.battery.capacity_kwh == 30
    assert factory.loads[0].name == "line-1" and factory.miners == []
    assert sf.people[0].platform == "discord" and sf.people[0].role == "admin"


def test_generator_default_fuel_curve_when_omitted(tmp_path: Path) -> None:
    sf = load_site_file(write(tmp_path, "sites.toml", GOOD_TOML))
    generator = sf.site("factory").generator
    assert generator is not None and generator.fuel_curve is None
    assert generator.curve == default_fuel_curve(40)
    # the synthetic curve scales with the rating and rises with load
    assert generator.curve[0] == (0.0, round(0.08 * 40, 3))
    assert generator.curve[-1] == (1.0, round(0.30 * 40, 3))
    litres = [lph for _, lph in generator.curve]
    assert litres == sorted(litres)
    assert Generator(rated_kw=10, tank_l=50).curve == default_fuel_curve(10)


def test_example_site_file_at_repo_root_loads() -> None:
    path = REPO_ROOT / "sites.example.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not in the repository yet")
    sf = load_site_file(path)
    assert sf.sites, "the example must describe at least one site"
    for site in sf.sites:
        assert sf.site(site.name) is site


def test_demo_site_file_is_valid_data() -> None:
    demo = demo_site_file()
    again = parse_site_file(demo.model_dump(mode="json"), source="<demo>")
    assert again == demo


# --- files that are refused ---------------------------------------------------------------------


def test_wrong_type_names_field(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", site_yaml("battery: {capacity_kwh: lots}\n"))
    message = refused(path)
    assert "sites[0].battery.capacity_kwh" in message
    assert "valid number" in message and "'lots'" in message


def test_value_out_of_range_names_field(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", site_yaml("battery: {capacity_kwh: 10, min_soc_pct: 120}\n"))
    message = refused(path)
    assert "sites[0].battery.min_soc_pct" in message
    assert "less than or equal to 100" in message and "120" in message


def test_value_out_of_range_in_second_site(tmp_path: Path) -> None:
    text = (
        MINIMAL_SITE + "  - name: s2\n    location: {latitude: 95, longitude: 2}\n"  # latitude > 90
    )
    message = refused(write(tmp_path, "s.yaml", text))
    assert "sites[1].location.latitude" in message
    assert "less than or equal to 90" in message


def test_unknown_field_typo_names_field(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", site_yaml("battery: {capacity_kw: 10}\n"))
    message = refused(path)
    assert "sites[0].battery.capacity_kw" in message
    assert "Extra inputs are not permitted" in message
    # the real field is then missing, and that is reported too
    assert "sites[0].battery.capacity_kwh" in message and "Field required" in message


def test_missing_required_field(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "sites:\n  - name: s1\n")
    message = refused(path)
    assert "sites[0].location" in message and "Field required" in message


def test_missing_sites_list(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "s.yaml", "people: []\n"))
    assert "sites" in message and "Field required" in message


def test_bad_timezone(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "s.yaml", site_yaml("timezone: Mars/Olympus_Mons\n")))
    assert "sites[0].timezone" in message
    assert "unknown time zone 'Mars/Olympus_Mons'" in message and "IANA" in message


def test_bad_site_name(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "s.yaml", site_yaml(name="'Big Site'")))
    assert "sites[0].name" in message and "pattern" in message


def test_duplicate_site_names(tmp_path: Path) -> None:
    text = MINIMAL_SITE + "  - name: s1\n    location: {latitude: 3, longitude: 4}\n"
    message = refused(write(tmp_path, "s.yaml", text))
    assert "site names must be unique" in message
    assert "sites:" in message, f"the field is not named in: {message}"
    assert "s1" in message.split("site names must be unique")[1], "the duplicate is not named"


def test_duplicate_load_names(tmp_path: Path) -> None:
    extra = """\
    loads:
      - {name: miner-1, power_kw: 1}
      - {name: miner-1, power_kw: 2}
    """
    message = refused(write(tmp_path, "s.yaml", site_yaml(extra)))
    assert "sites[0].loads" in message
    assert "load names must be unique" in message and "miner-1" in message


@pytest.mark.parametrize(("critical", "warning"), [(40, 40), (45, 40)])
def test_critical_threshold_must_be_below_warning(
    tmp_path: Path, critical: float, warning: float
) -> None:
    extra = f"alerts: {{soc_critical_pct: {critical}, soc_warning_pct: {warning}}}\n"
    message = refused(write(tmp_path, "s.yaml", site_yaml(extra)))
    assert "sites[0].alerts" in message
    assert "soc_critical_pct must be below soc_warning_pct" in message


@pytest.mark.parametrize(
    ("curve", "expected"),
    [
        ("[[0, 1.0]]", ">= 2 points"),
        ("[[0.5, 1.0], [0.2, 2.0]]", "rising within 0..1"),
        ("[[0, 1.0], [1.5, 2.0]]", "rising within 0..1"),
        ("[[0, -1.0], [1, 2.0]]", "litres per hour must be >= 0"),
    ],
)
def test_bad_fuel_curve(tmp_path: Path, curve: str, expected: str) -> None:
    extra = f"generator: {{rated_kw: 5, tank_l: 40, fuel_curve: {curve}}}\n"
    message = refused(write(tmp_path, "s.yaml", site_yaml(extra)))
    assert "sites[0].generator" in message
    assert expected in message


def test_initial_fuel_above_tank(tmp_path: Path) -> None:
    extra = "generator: {rated_kw: 5, tank_l: 40, initial_fuel_l: 50}\n"
    message = refused(write(tmp_path, "s.yaml", site_yaml(extra)))
    assert "sites[0].generator" in message and "initial_fuel_l cannot exceed tank_l" in message


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "s.yaml", "sites:\n  - name: [unclosed\n"))
    assert "not valid YAML" in message
    assert "line" in message  # the parser's position is passed on


def test_invalid_toml_syntax(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "s.toml", '[[sites]]\nname = "a\n'))
    assert "not valid TOML" in message
    assert "line" in message


def test_unknown_extension(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "sites.json", '{"sites": []}'))
    assert "unknown site file type '.json'" in message
    assert ".yaml" in message and ".toml" in message


def test_missing_file(tmp_path: Path) -> None:
    message = refused(tmp_path / "nowhere.yaml")
    assert "cannot read site file" in message and "No such file" in message


@pytest.mark.parametrize("text", ["- name: s1\n- name: s2\n", "", "just a string\n"])
def test_top_level_must_be_mapping(tmp_path: Path, text: str) -> None:
    message = refused(write(tmp_path, "s.yaml", text))
    assert "expected a mapping with a 'sites' list at the top level" in message


def test_empty_sites_list(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "s.yaml", "sites: []\n"))
    assert "sites" in message and "at least 1" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    extra = """\
    timezone: Nowhere/Land
    battery: {capacity_kwh: -1}
    """
    message = refused(write(tmp_path, "s.yaml", site_yaml(extra)))
    assert "sites[0].timezone" in message
    assert "sites[0].battery.capacity_kwh" in message and "greater than 0" in message


def test_parse_site_file_names_source() -> None:
    with pytest.raises(SiteConfigError, match=r"^env:SITES: invalid site file"):
        parse_site_file({"sites": [{"name": "x"}]}, source="env:SITES")


# --- looking sites up ---------------------------------------------------------------------------


def test_unknown_site_lists_known_sites(tmp_path: Path) -> None:
    sf: SiteFile = load_site_file(write(tmp_path, "sites.yaml", GOOD_YAML))
    with pytest.raises(UnknownSiteError) as info:
        sf.site("barns")
    assert info.value.name == "barns"
    assert info.value.known == ["barn", "shed"]
    assert str(info.value) == "Unknown site 'barns'. Configured sites: barn, shed."


def test_a_relay_must_name_a_configured_device(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("relay: shelly-a", "relay: shelly-b")
    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteConfigError) as err:
        load_site_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "sites[0]" in message
    assert "load 'miner-a' names relay device 'shelly-b'" in message
    assert "known: solark, shelly-a" in message


def test_device_connection_is_checked_against_its_driver(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("connection: {host: 192.168.1.60,", "connection: {hots: 192.168.1.60,")
    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteConfigError) as err:
        load_site_file(path)
    message = str(err.value)
    assert "sites[0].devices[1]" in message
    assert "shelly device 'shelly-a'" in message
    assert "connection.host: Field required" in message
    assert "connection.hots: Extra inputs are not permitted" in message


def test_unknown_driver_is_refused(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("driver: shelly", "driver: shelley")
    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteConfigError) as err:
        load_site_file(path)
    assert "sites[0].devices[1].driver" in str(err.value)
    assert "'victron_mqtt'" in str(err.value)


# --- one human on several platforms ------------------------------------------------------

TWO_SITES = (
    "sites:\n"
    "  - {name: home, location: {latitude: 1, longitude: 2}}\n"
    "  - {name: barn, location: {latitude: 3, longitude: 4}}\n"
)


def test_entries_sharing_a_person_id_are_one_human(tmp_path: Path) -> None:
    people = """\
    people:
      - {platform: slack, user_id: U1, name: Alice, role: operator, sites: [home, barn],
         person: Alice}
      - {platform: discord, user_id: "42", name: ali, role: operator, sites: [barn, home],
         person: alice}
      - {platform: slack, user_id: U2, name: Alice (old account), role: operator,
         sites: [home, barn], person: alice}
      - {platform: slack, user_id: U3, name: Bob, role: operator}
    """
    sf = load_site_file(write(tmp_path, "s.yaml", TWO_SITES + textwrap.dedent(people)))
    assert [p.person for p in sf.people] == ["alice", "alice", "alice", None]
    humans = sf.humans()
    assert {humans.of(a) for a in ("slack:U1", "discord:42", "slack:U2")} == {"person:alice"}
    assert humans.accounts("discord:42") == ("slack:U1", "discord:42", "slack:U2")
    # Bob, and anyone the file does not list, is a person of their own.
    assert humans.of("slack:U3") == "slack:U3" and humans.accounts("slack:U3") == ("slack:U3",)
    assert humans.of("discord:7") == "discord:7" and humans.person_id("discord:7") is None
    assert humans.identities("slack:U9", "alice") == {"slack:U9", "person:alice"}


def test_a_file_without_person_ids_links_no_one() -> None:
    sf = demo_site_file()
    humans = sf.humans()
    assert all(humans.of(p.account) == p.account for p in sf.people)


@pytest.mark.parametrize(
    ("second", "first_access", "second_access"),
    [
        # a stronger role on the other platform
        (
            "{platform: discord, user_id: '42', role: admin, sites: [home], person: alice}",
            "operator at home",
            "admin at home",
        ),
        # the other site, or every site, on the other platform
        (
            "{platform: discord, user_id: '42', role: operator, sites: [barn], person: alice}",
            "operator at home",
            "operator at barn",
        ),
        (
            "{platform: discord, user_id: '42', role: operator, person: alice}",
            "operator at home",
            "operator at every site",
        ),
        # even a weaker role: one human has one role (say which in one place)
        (
            "{platform: slack, user_id: U2, role: viewer, sites: [home], person: ALICE}",
            "operator at home",
            "viewer at home",
        ),
    ],
)
def test_one_human_may_not_have_two_roles_or_two_sets_of_sites(
    tmp_path: Path, second: str, first_access: str, second_access: str
) -> None:
    people = (
        "people:\n"
        "  - {platform: slack, user_id: U1, role: operator, sites: [home], person: alice}\n"
        f"  - {second}\n"
    )
    message = refused(write(tmp_path, "s.yaml", TWO_SITES + people))
    assert "people[1]: person 'alice'" in message
    assert f"is {second_access}, but people[0] (slack user 'U1')" in message
    assert f"is {first_access}; give every entry of one person the same role" in message


def test_a_person_id_is_one_plain_word(tmp_path: Path) -> None:
    people = "people:\n  - {platform: slack, user_id: U1, role: operator, person: 'al ice'}\n"
    message = refused(write(tmp_path, "s.yaml", TWO_SITES + people))
    assert "people[0].person" in message and "pattern" in message
