"""The command line: train -> encode -> decode -> inspect -> convert, the demo, and user errors
(one line on stderr, exit code 2, no traceback, nothing half-written)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tokensmith.cli import main

KIT = Path(__file__).resolve().parents[2] / "shared" / "data"


def run(argv: list[str], capsys, stdin: str = "", monkeypatch=None) -> tuple[int, str, str]:
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_data) -> Path:
    out = tmp_path_factory.mktemp("cli") / "tok"
    code = main(["train", "--method", "bpe", "--vocab-size", "600", "--pattern", "gpt2", "--min-frequency", "2",
                 "--special-tokens", "<|endoftext|>,<|pad|>", "--threads", "1", "--progress", "none",
                 "--max-token-length", "12", "--normalization", "nfc", "--out", str(out),
                 str(tiny_data / "english_bench" / "gutenberg_en_sample.txt"),
                 str(tiny_data / "domain" / "legal_eu_law.jsonl")])
    assert code == 0
    return out


def test_trained_nfc_tokenizer_loads_in_stock_tokenizers(trained, tiny_data):
    import tokenizers

    import tokensmith

    ours = tokensmith.load(trained)
    stock = tokenizers.Tokenizer.from_file(str(trained / "tokenizer.json"))
    lines = (tiny_data / "english_variants" / "american_text.txt").read_text(encoding="utf-8").splitlines()[:200]
    lines += ["Cafe\u0301 ﬁne ＡＢ", "naïve résumé"]  # NFC changes the first; NFKC-only forms stay
    for line in lines:
        assert stock.encode(line, add_special_tokens=False).ids == ours.encode(line), line


def test_train_writes_both_files_with_the_config(trained):
    cfg = json.loads((trained / "tokenizer_config.json").read_text())
    saved = cfg["tokensmith"]["config"]
    assert saved["vocab_size"] == 600 and saved["pattern"] == "gpt2" and saved["normalization"] == "nfc"
    assert saved["special_tokens"] == ["<|endoftext|>", "<|pad|>"] and saved["max_token_length"] == 12
    assert json.loads((trained / "tokenizer.json").read_text())["model"]["type"] == "BPE"


def test_encode_decode_round_trip(trained, capsys, monkeypatch):
    import tokensmith

    text = "The Union shall act.\nनमस्ते दुनिया\n"
    code, out, _ = run(["encode", "--tokenizer", str(trained)], capsys, text, monkeypatch)
    assert code == 0
    tok = tokensmith.load(trained)
    assert [list(map(int, line.split())) for line in out.splitlines()] == [tok.encode(t) for t in text.splitlines()]
    code, decoded, _ = run(["decode", "--tokenizer", str(trained)], capsys, out, monkeypatch)
    assert code == 0 and decoded == text
    code, pieces, _ = run(["encode", "-t", str(trained), "--format", "pieces"], capsys, "The Union\n", monkeypatch)
    assert code == 0 and "".join(pieces.split()) == "TheUnion"
    code, js, _ = run(["encode", "-t", str(trained), "--format", "json"], capsys, "The Union\n", monkeypatch)
    row = json.loads(js)
    assert row["ids"] == tok.encode("The Union") and "".join(row["pieces"]) == "The Union"


def test_inspect_and_convert(trained, tmp_path, capsys):
    code, out, _ = run(["inspect", str(trained)], capsys)
    assert code == 0 and "vocab size     600" in out and "method         bpe" in out and "<|pad|>=1" in out
    code, out, _ = run(["inspect", "--json", str(trained)], capsys)
    assert json.loads(out)["config"]["vocab_size"] == 600
    code, out, _ = run(["convert", "--to", "hf", str(trained), str(tmp_path / "hf")], capsys)
    assert code == 0
    assert (tmp_path / "hf" / "tokenizer.json").read_text() == (trained / "tokenizer.json").read_text()


def test_convert_rank_file_to_hf_and_back(tmp_path, capsys):
    source = KIT / "tokenizers" / "openai_cl100k_base" / "cl100k_base.tiktoken"
    code, _, err = run(["convert", "--to", "hf", "--pattern", "cl100k", str(source), str(tmp_path / "cl")], capsys)
    assert code == 0, err
    code, _, err = run(["convert", "--to", "tiktoken", str(tmp_path / "cl"), str(tmp_path / "cl.tiktoken")], capsys)
    assert code == 0, err
    assert (tmp_path / "cl.tiktoken").read_bytes() == source.read_bytes()
    # The written tokenizer.json is Llama-3 style (Split + ByteLevel, ignore_merges): stock tokenizers
    # and our reader of it agree with tiktoken on the multilingual tiny kit.
    import tiktoken
    import tokenizers

    import tokensmith
    from tokensmith.config import known_patterns
    from tokensmith.formats.tiktoken import read_ranks

    ref = tiktoken.Encoding("cl100k", pat_str=known_patterns()["cl100k"], mergeable_ranks=read_ranks(source),
                            special_tokens={})
    stock = tokenizers.Tokenizer.from_file(str(tmp_path / "cl" / "tokenizer.json"))
    ours = tokensmith.load(tmp_path / "cl")
    lines = []
    for path in sorted((KIT / "tiny" / "multilingual" / "flores200_sib").glob("*.txt")):
        lines += path.read_text(encoding="utf-8").splitlines()[:2]
    for line in lines:
        ids = ref.encode_ordinary(line)
        assert stock.encode(line, add_special_tokens=False).ids == ids, line
        assert ours.encode(line) == ids, line


@pytest.mark.parametrize("argv,message", [
    (["train", "--vocab-size", "100", "--out", "{tmp}/o", "{txt}"], "vocab_size=100 is below the byte alphabet"),
    (["train", "--vocab-size", "500", "--out", "{tmp}/o", "{tmp}/missing.txt"], "corpus file not found"),
    (["train", "--vocab-size", "500", "--method", "nope", "--out", "{tmp}/o", "{txt}"], "unknown method 'nope'"),
    (["train", "--vocab-size", "500", "--pattern", "o2k", "--out", "{tmp}/o", "{txt}"], "unknown pattern 'o2k'"),
    (["train", "--vocab-size", "500", "--out", "{tmp}/o", "{bin}"], "looks like a binary file"),
    (["train", "--vocab-size", "500", "--strict", "--out", "{tmp}/o", "{bad}"], r"bad\.txt:2: invalid UTF-8"),
    (["inspect", "{cl100k}"], "pass pattern="),
    (["convert", "--to", "hf", "{tmp}/nothing.json", "{tmp}/x"], "not found"),
])
def test_user_errors_exit_2_with_one_line(argv, message, tmp_path, tiny_data, capsys):
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\xfe\n")
    values = {"tmp": str(tmp_path), "txt": str(tiny_data / "english_variants" / "british_text.txt"),
              "bin": str(tmp_path / "blob.txt"), "bad": str(tmp_path / "bad.txt"),
              "cl100k": str(KIT / "tokenizers" / "openai_cl100k_base" / "cl100k_base.tiktoken")}
    code, out, err = run([a.format(**values) for a in argv], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_decode_rejects_non_ids(trained, capsys, monkeypatch):
    code, _, err = run(["decode", "-t", str(trained)], capsys, "1 2 x\n", monkeypatch)
    assert code == 2 and "stdin line 1: 'x' is not a token id" in err


def test_invalid_utf8_is_reported_on_stderr(tmp_path, capsys):
    (tmp_path / "mixed.txt").write_bytes(("hello world\n" * 50).encode() + b"\xff bad\n")
    code, out, err = run(["train", "--vocab-size", "270", "--progress", "none", "--out", str(tmp_path / "t"),
                          str(tmp_path / "mixed.txt")], capsys)
    assert code == 0 and "skipped 1 lines of invalid UTF-8" in err and "wrote" in out


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tokensmith", "train", "--vocab-size", "500", "--out",
                           str(tmp_path / "o"), str(tmp_path / "missing.txt")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"tokensmith train: error: corpus file not found: {tmp_path / 'missing.txt'}"


def test_demo_quick_writes_reports(tmp_path, capsys):
    code, out, err = run(["demo", "--quick", "--out", str(tmp_path / "demo")], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    sizes = report["sizes"]
    assert list(sizes) == ["1000", "4000"]
    assert sizes["4000"]["bytes_per_token"] > sizes["1000"]["bytes_per_token"] > 1.0
    assert "eng_Latn" in sizes["1000"]["languages"]
    assert "| vocab |" in (tmp_path / "demo" / "report.md").read_text()
    assert (tmp_path / "demo" / "bpe_1000" / "tokenizer.json").is_file()


def test_demo_falls_back_to_the_standard_library():
    from tokensmith.demo import demo_corpus, find_data_dir

    assert find_data_dir() is not None
    corpus = demo_corpus(None, quick=True)
    assert corpus.name == "python stdlib" and corpus.train and corpus.eval_sets["python_code"]
    from tokensmith.demo import evaluate, train_tokenizers

    run_ = train_tokenizers(corpus, (400,), num_threads=1)
    metrics = evaluate(run_)
    assert metrics["sizes"]["400"]["languages"]["python_code"]["bytes_per_token"] > 1.5


def _readme_blocks(language: str) -> list[str]:
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", readme, flags=re.S)


def test_readme_python_example_runs(tmp_path, monkeypatch):
    """Every README example works: the Python tour, run from the repository root."""
    repo = Path(__file__).resolve().parents[1]
    (block,) = _readme_blocks("python")
    monkeypatch.chdir(repo)
    code = block.replace('"out/my_tokenizer"', repr(str(tmp_path / "my_tokenizer")))
    exec(compile(code, "README.md", "exec"), {})


def test_readme_cli_example_runs(tmp_path):
    """The command-line tour, in a shell, with its outputs redirected to a temporary directory."""
    repo = Path(__file__).resolve().parents[1]
    blocks = [b for b in _readme_blocks("bash") if b.lstrip().startswith("tokensmith train")]
    assert len(blocks) == 1
    script = blocks[0].replace("out/", f"{tmp_path}/")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "tokensmith").write_text(f"#!/bin/sh\nexec {sys.executable} -m tokensmith \"$@\"\n")
    (bindir / "tokensmith").chmod(0o755)
    import os

    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=repo, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Hello, world" in proc.stdout  # the encode | decode round trip
    assert (tmp_path / "tok.tiktoken").is_file() and (tmp_path / "cl100k" / "tokenizer.json").is_file()


def test_method_options_come_from_the_registry(tmp_path, tiny_data, capsys):
    """Each method's config fields are train flags; a flag of another method is a user error."""
    from tokensmith.methods import available_methods

    code, out, _ = run(["train", "--help"], capsys)
    assert code == 0
    for method in available_methods():
        assert method in out
    text = str(tiny_data / "english_variants" / "british_text.txt")
    code, _, err = run(["train", "--vocab-size", "500", "--threshold", "0.5", "--out", str(tmp_path / "o"), text], capsys)
    assert code == 2 and "threshold" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_encode_special_token_text(trained, capsys, monkeypatch):
    code, _, err = run(["encode", "-t", str(trained)], capsys, "end <|endoftext|>\n", monkeypatch)
    assert code == 2 and "pass --allow-special" in err
    code, out, _ = run(["encode", "-t", str(trained), "--allow-special"], capsys, "end <|endoftext|>\n", monkeypatch)
    assert code == 0 and out.split()[-1] == "0"


def test_progress_json_goes_to_stderr(tmp_path, tiny_data, capfd):
    code, out, err = run(["train", "--vocab-size", "300", "--progress", "json", "--out", str(tmp_path / "t"),
                          str(tiny_data / "english_variants" / "british_text.txt")], capfd)
    assert code == 0 and out.startswith("wrote")
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "done" and all("merges_done" in e for e in events)


def test_corpus_budget_and_sampling_flags_are_saved(tmp_path, tiny_data, capsys):
    code, _, err = run(["train", "--vocab-size", "300", "--progress", "none", "--max-bytes", "20000",
                        "--sample-rate", "0.5", "--seed", "3", "--out", str(tmp_path / "t"),
                        str(tiny_data / "english_bench" / "gutenberg_en_sample.txt")], capsys)
    assert code == 0, err
    saved = json.loads((tmp_path / "t" / "tokenizer_config.json").read_text())["tokensmith"]
    assert saved["corpus"]["bytes"] == 20000 and saved["corpus"]["truncated"]
    assert saved["config"]["seed"] == 3
