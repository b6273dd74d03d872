from __future__ import annotations

from typing import Any

import pytest

from proconsul.errors import BadRequest
from proconsul.filter import compile_filter

PREFIX = "Failed to create boolean expression evaluator: "

# A /v1/catalog/service entry, plus a few fields of other types.
CATALOG: dict[str, Any] = {
    "Node": "n1",
    "ServiceID": "web-1",
    "ServiceName": "web",
    "ServiceTags": ["primary", "v1"],
    "ServiceMeta": {"env": "prod", "my key": "x", "blank": ""},
    "NodeMeta": {"rack": "r1"},
    "ServicePort": 8080,
    "ServiceAddress": "",
    "ServiceEnableTagOverride": False,
    "ServiceTaggedAddresses": None,
    "ServiceWeights": {"Passing": 1, "Warning": 1},
    "Weight": 1.5,
    "Offset": -3,
    "Ports": [80, 443],
    "NoTags": [],
    "NoMeta": {},
    "Quote": 'say "hi"\n',
    "Path": "C:\\dir",
    "Accent": "é",
    "notify": "yes",
}

# A /v1/health/service entry: one passing node check, one critical service check.
HEALTH: dict[str, Any] = {
    "Node": {"Node": "n1", "Meta": {"rack": "r1"}},
    "Service": {"Service": "web", "Tags": ["primary"], "Meta": {}, "Port": 80},
    "Checks": [
        {"CheckID": "serfHealth", "Status": "passing", "ServiceTags": []},
        {"CheckID": "service:web", "Status": "critical", "ServiceTags": ["primary"]},
    ],
}
ALL_PASSING: dict[str, Any] = {**HEALTH, "Checks": [{"CheckID": "serfHealth", "Status": "passing"}]}
NO_CHECKS: dict[str, Any] = {**HEALTH, "Checks": []}

CASES: list[tuple[str, dict[str, Any], bool]] = [
    # == and != on strings, every value form
    ('ServiceName == "web"', CATALOG, True),
    ('ServiceName == "api"', CATALOG, False),
    ('ServiceName != "api"', CATALOG, True),
    ('ServiceName != "web"', CATALOG, False),
    ("ServiceName==web", CATALOG, True),
    ("ServiceName == `web`", CATALOG, True),
    ('ServiceID == "web-1"', CATALOG, True),
    ('Quote == "say \\"hi\\"\\n"', CATALOG, True),
    ("Path == `C:\\dir`", CATALOG, True),
    ('Path == "C:\\\\dir"', CATALOG, True),
    ('Accent == "\\u00e9"', CATALOG, True),
    ('Accent == "\\xe9"', CATALOG, True),
    ('ServiceName == "\\167eb"', CATALOG, True),
    ("ServiceName == 1", CATALOG, False),
    # numbers and booleans: the literal converts to the field's type
    ("ServicePort == 8080", CATALOG, True),
    ('ServicePort == "8080"', CATALOG, True),
    ("ServicePort == 80", CATALOG, False),
    ("ServicePort != 80", CATALOG, True),
    ("ServicePort == 8080.0", CATALOG, False),
    ("Weight == 1.5", CATALOG, True),
    ("Weight == 1.50", CATALOG, True),
    ("Weight != 1", CATALOG, True),
    ("Offset == -3", CATALOG, True),
    ("ServiceEnableTagOverride == false", CATALOG, True),
    ("ServiceEnableTagOverride == true", CATALOG, False),
    ("ServiceEnableTagOverride != true", CATALOG, True),
    ('ServiceEnableTagOverride == "False"', CATALOG, True),
    ("ServiceEnableTagOverride == 0", CATALOG, True),
    ("ServiceEnableTagOverride == no", CATALOG, False),
    # selectors: dotted paths, quoted map keys, names that start like keywords
    ("ServiceMeta.env == prod", CATALOG, True),
    ('ServiceMeta["env"] == "prod"', CATALOG, True),
    ('ServiceMeta[ "my key" ] == x', CATALOG, True),
    ("ServiceWeights.Passing == 1", CATALOG, True),
    ("notify == yes", CATALOG, True),
    ("Node.Meta.rack == r1", HEALTH, True),
    ("Service.Port == 80", HEALTH, True),
    ("Service.Tags contains primary", HEALTH, True),
    # a missing map key: positive operators fail, their negations hold
    ('ServiceMeta.missing == ""', CATALOG, False),
    ('ServiceMeta.missing != "x"', CATALOG, True),
    ("ServiceMeta.missing is empty", CATALOG, True),
    ("ServiceMeta.missing is not empty", CATALOG, False),
    ('"x" in ServiceMeta.missing', CATALOG, False),
    ('"x" not in ServiceMeta.missing', CATALOG, True),
    ('ServiceMeta.missing matches ".*"', CATALOG, False),
    ('ServiceMeta.missing not matches "x"', CATALOG, True),
    ("Service.Meta.env is empty", HEALTH, True),
    # a null reads like a missing key
    ("ServiceTaggedAddresses is empty", CATALOG, True),
    ('ServiceTaggedAddresses.lan.Address == "x"', CATALOG, False),
    ('ServiceTaggedAddresses.lan.Address != "x"', CATALOG, True),
    # an unknown field, or a field of a scalar, matches nothing
    ('Nope == "x"', CATALOG, False),
    ('Nope != "x"', CATALOG, False),
    ("Nope is empty", CATALOG, False),
    ('not Nope == "x"', CATALOG, True),
    ('ServiceName.foo != "x"', CATALOG, False),
    # in / contains: list membership, map keys, substrings
    ('ServiceTags contains "primary"', CATALOG, True),
    ('ServiceTags contains "prim"', CATALOG, False),
    ('"v1" in ServiceTags', CATALOG, True),
    ("primary in ServiceTags", CATALOG, True),
    ('"v2" not in ServiceTags', CATALOG, True),
    ("ServiceTags not contains v1", CATALOG, False),
    ('ServiceName contains "e"', CATALOG, True),
    ('"we" in ServiceName', CATALOG, True),
    ('"x" in ServiceName', CATALOG, False),
    ('ServiceMeta contains "env"', CATALOG, True),
    ('ServiceMeta contains "prod"', CATALOG, False),
    ('"rack" in NodeMeta', CATALOG, True),
    ("Ports contains 443", CATALOG, True),
    ('"80" in Ports', CATALOG, True),
    ("Ports contains 8080", CATALOG, False),
    ('ServicePort contains "80"', CATALOG, False),
    ('ServicePort not contains "80"', CATALOG, True),
    # is empty / is not empty
    ("ServiceAddress is empty", CATALOG, True),
    ("ServiceName is empty", CATALOG, False),
    ("ServiceName is not empty", CATALOG, True),
    ("ServiceTags is empty", CATALOG, False),
    ("NoTags is empty", CATALOG, True),
    ("NoMeta is empty", CATALOG, True),
    ("NoMeta is not empty", CATALOG, False),
    ("ServiceMeta.blank is empty", CATALOG, True),
    ("ServicePort is empty", CATALOG, False),
    # matches / not matches: RE2 searched anywhere in a string
    ('ServiceName matches "^w.b$"', CATALOG, True),
    ('ServiceName matches "^api"', CATALOG, False),
    ('ServiceName not matches "^api"', CATALOG, True),
    ('ServiceName not matches "^web"', CATALOG, False),
    ('ServiceName matches "e"', CATALOG, True),
    ("ServiceID matches `^web-\\d+$`", CATALOG, True),
    ('ServiceName matches "(?i)WEB"', CATALOG, True),
    ('ServiceName matches "^[[:alpha:]]+\\\\z"', CATALOG, True),
    ('ServiceID matches "^[[:alpha:]]+\\\\z"', CATALOG, False),
    ('ServiceID matches "(?P<name>web)-1"', CATALOG, True),
    ('ServiceID matches "(?<name>web)-2"', CATALOG, False),
    ('ServicePort matches "80"', CATALOG, False),
    # through a list of objects: the whole match holds if it holds for any element
    ("Checks.Status == passing", HEALTH, True),
    ("Checks.Status == warning", HEALTH, False),
    ("Checks.Status != passing", HEALTH, True),
    ("Checks.Status != passing", ALL_PASSING, False),
    ("Checks.Status == passing", NO_CHECKS, False),
    ("Checks.Status != passing", NO_CHECKS, False),
    ("not Checks.Status == critical", HEALTH, False),
    ("not Checks.Status == critical", ALL_PASSING, True),
    ('Checks.CheckID contains "serf"', HEALTH, True),
    ('"primary" in Checks.ServiceTags', HEALTH, True),
    ("Checks.ServiceTags is empty", HEALTH, True),
    ('Checks.Status matches "^crit"', HEALTH, True),
    ("Checks.0.Status == passing", HEALTH, True),
    ("Checks.1.Status == passing", HEALTH, False),
    ("Checks.5.Status is empty", HEALTH, True),
    # and / or / not
    ("ServiceName == web and ServicePort == 8080", CATALOG, True),
    ("ServiceName == web and ServicePort == 1", CATALOG, False),
    ("ServiceName == api or ServicePort == 8080", CATALOG, True),
    ("ServiceName == api or ServicePort == 1", CATALOG, False),
    ("not ServiceName == api", CATALOG, True),
    ("not not ServiceName == web", CATALOG, True),
    ("ServiceName == web and ServicePort == 8080 and Node == n1", CATALOG, True),
    ("ServiceName == a or ServiceName == b or ServiceName == web", CATALOG, True),
    # precedence: not > and > or
    ("ServiceName == api and ServicePort == 1 or ServiceName == web", CATALOG, True),
    ("ServiceName == web or ServiceName == api and ServicePort == 1", CATALOG, True),
    ("not ServiceName == web or ServicePort == 8080", CATALOG, True),
    ("not ServiceName == web and ServicePort == 1", CATALOG, False),
    # parentheses
    ("(ServiceName == web)", CATALOG, True),
    ("ServiceName == api and (ServicePort == 1 or ServiceName == web)", CATALOG, False),
    ("(ServiceName == api or ServiceName == web) and ServicePort == 8080", CATALOG, True),
    ("not (ServiceName == web and ServicePort == 1)", CATALOG, True),
    ("((not (ServiceName == web)))", CATALOG, False),
    # whitespace is free between tokens
    ("  ServiceName == web\n\tand\r\nServicePort == 8080  ", CATALOG, True),
]


@pytest.mark.parametrize(("expression", "item", "expected"), CASES)
def test_evaluates(expression: str, item: dict[str, Any], expected: bool) -> None:
    assert compile_filter(expression)(item) is expected


MALFORMED: list[tuple[str, str]] = [
    ("   ", "expected a match expression"),
    ("ServiceName", "expected a match operator"),
    ("ServiceName ==", "expected a value"),
    ("== web", "expected a match expression"),
    ("ServiceName = web", "unexpected character '=' (equality is \"==\")"),
    ("ServicePort > 5", "unexpected character '>'"),
    ("ServiceName == web && ServicePort == 1", "unexpected character '&'"),
    ('ServiceName == "web', "Unterminated string literal"),
    ("ServiceName == `web", "Unterminated string literal"),
    ('ServiceName == "\\q"', "invalid escape sequence"),
    ('ServiceName == "\\400"', "invalid escape sequence"),
    ("(ServiceName == web", "Unmatched parentheses"),
    ("ServiceName == web)", 'expected "and", "or" or the end'),
    ("ServiceName == web ServicePort == 1", 'expected "and", "or" or the end'),
    ("ServiceName == web and", "expected a match expression"),
    ("ServiceName == web or or Node == n1", "expected a match operator"),
    ("ServiceName is", 'expected "empty" or "not empty"'),
    ("ServiceName is nothing", 'expected "empty" or "not empty"'),
    ("ServiceName not == web", "expected a match operator"),
    ("ServiceName contains", "expected a value"),
    ('ServiceName matches "["', "Failed to compile regular expression"),
    ('ServiceName not matches "(x"', "Failed to compile regular expression"),
    ('"web" in', "Invalid selector"),
    ('"web" in "ServiceName"', "Invalid selector"),
    ('"web" == ServiceName', "expected a match operator"),
    ("80 == ServicePort", "expected a match operator"),
    ("ServicePort == 007", "Invalid number literal"),
    ("ServicePort == 1.", "Invalid number literal"),
    ("ServicePort == 80abc", "Invalid number literal"),
    ("ServicePort == 1e3", "Invalid number literal"),
    ("ServiceMeta[env] == x", "Invalid index"),
    ('ServiceMeta["env" == x', "Invalid index"),
    ("Service..Name == x", "unexpected character '.'"),
    ("(" * 150 + "ServiceName == web" + ")" * 150, "nested more than 100 levels"),
    ("not " * 150 + "ServiceName == web", "nested more than 100 levels"),
]


@pytest.mark.parametrize(("expression", "reason"), MALFORMED)
def test_rejects(expression: str, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        compile_filter(expression)
    assert caught.value.status == 400
    assert caught.value.message.startswith(PREFIX)
    assert reason in caught.value.message


@pytest.mark.parametrize(
    ("expression", "location"),
    [
        ("ServiceName = web", "1:13 (12): "),
        ('ServiceName == web and\n  Node == "n1', "2:11 (33): "),
    ],
)
def test_error_names_line_column_and_offset(expression: str, location: str) -> None:
    with pytest.raises(BadRequest) as caught:
        compile_filter(expression)
    assert caught.value.message.startswith(PREFIX + location)


def test_empty_expression_matches_everything() -> None:
    predicate = compile_filter("")
    assert predicate(CATALOG) is True
    assert predicate({}) is True


def test_compiled_predicates_are_cached_and_reusable() -> None:
    predicate = compile_filter("ServiceMeta.env == prod and ServicePort == 8080")
    assert compile_filter("ServiceMeta.env == prod and ServicePort == 8080") is predicate
    assert [predicate(item) for item in (CATALOG, {**CATALOG, "ServicePort": 1}, HEALTH)] == [
        True,
        False,
        False,
    ]


def test_predicate_tolerates_items_that_are_not_objects() -> None:
    predicate = compile_filter('ServiceName != "x"')
    assert [predicate(item) for item in (None, "web", 3, ["ServiceName"])] == [False] * 4
