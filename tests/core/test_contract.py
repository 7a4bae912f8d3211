import pytest

from brickfield.core import ParseError, get_domain, list_domains
from brickfield.core.errors import InputTooLargeError, ParseIssue
from brickfield.core.textio import ensure_text, fenced_blocks, loads_json


def test_parse_error_carries_code_location_and_all_issues():
    issues = [ParseIssue("ill_formatted", "bad", line=3), ParseIssue("ill_formatted", "worse", line=7)]
    err = ParseError.from_issues(issues)
    assert err.code == "ill_formatted" and err.line == 3
    assert len(err.issues) == 2
    assert "line 3" in str(err) and "[ill_formatted]" in str(err)
    assert err.to_dict()["issues"][1]["line"] == 7


def test_ensure_text_refuses_oversize_and_decodes_bytes():
    assert ensure_text(b"ab\xffc") == "ab\ufffdc"
    with pytest.raises(InputTooLargeError) as exc:
        ensure_text("x" * 101, max_bytes=100)
    assert exc.value.code == "too_large"
    with pytest.raises(InputTooLargeError):
        ensure_text("é" * 60, max_bytes=100)  # 120 bytes in UTF-8
    with pytest.raises(ParseError):
        ensure_text(123)  # type: ignore[arg-type]


def test_loads_json_limits_depth_and_reports_location():
    with pytest.raises(ParseError) as exc:
        loads_json("[" * 10_000 + "]" * 10_000)
    assert exc.value.code == "too_deep"
    with pytest.raises(ParseError) as exc:
        loads_json('{"a": 1,\n "b": }')
    assert exc.value.code == "bad_json" and exc.value.line == 2
    assert loads_json('{"s": "[[[["}', max_depth=2) == {"s": "[[[["}


def test_fenced_blocks():
    text = "hi\n```json\n[1]\n```\nand\n```\nx\n```"
    assert fenced_blocks(text) == [("json", "[1]\n"), ("", "x\n")]


def test_registry_knows_builtin_domains():
    assert {"lego", "machines"} <= set(list_domains())
    with pytest.raises(KeyError):
        get_domain("nope")


def test_max_nesting_ignores_strings_and_handles_hostile_quoting():
    from brickfield.core.textio import max_nesting, strip_trailing_commas

    assert max_nesting('{"a": "[[[[", "b": [[1]]}') == 3
    assert max_nesting("[('a]]]', {1: (2,)})]", "\"'", "[{(", "]})") == 4
    assert max_nesting('["a\\"]", [') == 2
    assert max_nesting('[ "unterminated [[[[') == 1
    assert max_nesting("\x01\x01[") == 1
    assert strip_trailing_commas('[1, 2, ] , {"a": "x,]", }') == '[1, 2] , {"a": "x,]"}'
    # Inputs that make naive string scanning quadratic (each retry rescans to the end); the scanner
    # never fails once a string starts, so each of these is one linear pass.
    assert max_nesting('"\\' * 300_000 + "[", "\"'") == 0  # all inside one unterminated string
    assert max_nesting('"a' * 300_001 + "[[") == 0
    assert max_nesting("'\"" * 300_000 + "[", "\"'") == 1
    assert strip_trailing_commas('"\\\n' * 200_000) == '"\\\n' * 200_000
