"""Regional Tiny Stories, in small: tokenizers trained for Hindi, Marathi and Bengali against a
general multilingual tokenizer of the same size and a real general one (cl100k), compared by the
bits per byte of a tiny LM trained per language on the same bytes.

Data: FLORES-200 (via SIB-200) sentences of each language plus the chatterbot conversations in
that language (`domain/chat_chatterbot_multilingual.jsonl`), shuffled with a fixed seed; the last
10% of the bytes are held apart. Tokenizers are trained on the training part only.

    python3 experiments/lm_indic.py --out /tmp/lm_indic [--steps 250]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
LANGS = {"hin_Deva": "hindi", "mar_Deva": "marathi", "ben_Beng": "bengali"}
GENERAL_MIX = ["eng_Latn", "hin_Deva", "mar_Deva", "ben_Beng", "tam_Taml", "tel_Telu", "urd_Arab", "rus_Cyrl",
               "deu_Latn", "zho_Hans"]


def docs_for(code: str) -> list[str]:
    lines = (DATA / "multilingual/flores200_sib" / f"{code}.txt").read_text(encoding="utf-8").splitlines()
    chats = [json.loads(l)["text"] for l in open(DATA / "domain/chat_chatterbot_multilingual.jsonl", encoding="utf-8")
             if json.loads(l)["language"] == LANGS.get(code)]
    docs = [l for l in lines if l.strip()] + chats
    random.Random(13).shuffle(docs)
    return docs


def hf_bpe(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


class Compact:
    """A big tokenizer restricted to the ids it uses on the given texts (keeps a tiny LM's output layer
    small; slightly favours it, since ids it never uses get no probability mass)."""

    def __init__(self, adapter, texts: list[str]) -> None:
        self.inner = adapter
        used = sorted({i for ids in adapter.encode_batch(texts) for i in ids})
        self.map = {old: new for new, old in enumerate(used)}
        self.vocab_size = len(used)

    def encode_batch(self, texts):
        return [[self.map[i] for i in ids] for ids in self.inner.encode_batch(list(texts))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/lm_indic")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--cl100k", default="hin_Deva", help="languages (comma) that also get cl100k; 'all' or ''")
    ap.add_argument("--cross", action="store_true", help="also the tokenizer of a neighbouring language")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "python"))
    from tokensmith.evaluate.loaders import as_adapter, load_tokenizer
    from tokensmith.lm import LMConfig, compare, make_chunks, split_texts

    cfg = LMConfig(d_model=64, n_layer=2, n_head=2, dropout=0.1, chunk_bytes=256, batch_size=16, steps=args.steps,
                   warmup=15, eval_every=50, eval_chunks=64, lr=4e-3, threads=args.threads)
    train_parts = {c: split_texts(docs_for(c), cfg.val_fraction)[0] for c in LANGS}
    general_texts = []
    for code in GENERAL_MIX:
        general_texts += train_parts[code] if code in train_parts else docs_for(code)[:700]
    t0 = time.time()
    own = {c: as_adapter(hf_bpe(train_parts[c], args.vocab), f"bpe-{c[:3]}") for c in LANGS}
    general = as_adapter(hf_bpe(general_texts, args.vocab), "bpe-general10")
    cl100k = load_tokenizer(str(DATA / "tokenizers/openai_cl100k_base/cl100k_base.tiktoken"), "cl100k")
    print(f"tokenizers trained in {time.time() - t0:.0f}s", file=sys.stderr)
    results = {}
    for code in LANGS:
        docs = docs_for(code)
        toks = {f"own ({code[:3]})": own[code], "general-10 (same size)": general}
        if args.cross:
            other = {"hin_Deva": "mar_Deva", "mar_Deva": "hin_Deva", "ben_Beng": "hin_Deva"}[code]
            toks[f"other ({other[:3]})"] = own[other]
        if args.cl100k == "all" or code in args.cl100k.split(","):
            cmp = Compact(cl100k, make_chunks(docs, cfg.chunk_bytes))
            toks[f"cl100k (compacted, {cmp.vocab_size} ids)"] = cmp
        rows = compare(toks, docs, Path(args.out) / code, config=cfg)
        results[code] = rows
    (Path(args.out) / "summary.json").write_text(json.dumps(results, indent=1))
    print(f"total {time.time() - t0:.0f}s", file=sys.stderr)
    from tokensmith.lm.extrinsic import format_table

    for code, rows in results.items():
        print(f"\n### {code}\n")
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
