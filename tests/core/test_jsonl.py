import pytest

from brickfield.core import ParseError
from brickfield.core.jsonl import read_jsonl


def test_read_jsonl_skips_blank_lines_and_a_torn_tail(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"a": 1}\n\n[2]\n{"torn": ')
    assert read_jsonl(path) == [{"a": 1}, [2]]
    with pytest.raises(ParseError) as exc:
        read_jsonl(path, skip_torn_tail=False)
    assert exc.value.code == "bad_json" and exc.value.line == 4


def test_read_jsonl_reports_a_bad_middle_line_and_a_missing_file(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"a": 1}\nnope\n{"b": 2}\n')
    with pytest.raises(ParseError) as exc:
        read_jsonl(path)
    assert exc.value.code == "bad_json" and exc.value.line == 2
    with pytest.raises(ParseError) as exc:
        read_jsonl(tmp_path / "missing.jsonl", what="transcript")
    assert exc.value.code == "unreadable" and "cannot read transcript" in exc.value.message
