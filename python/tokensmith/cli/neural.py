"""`tokensmith neural list` and `tokensmith neural demo <system> --out DIR [--quick] [--seeds N] [--device cpu]`."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("neural", help="neural tokenizers: catalogue and CPU demos")
    sub = p.add_subparsers(dest="neural_command", metavar="ACTION")
    ls = sub.add_parser("list", help="every system of the neural catalogue with tier and status")
    ls.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    ls.set_defaults(func=_list)
    d = sub.add_parser("demo", help="run a system's demo; writes DIR/result.json and DIR/*.png")
    d.add_argument("system", help="system name (e.g. one-d-piece, titok, softvq, flextok, hot, hnet, twm)")
    d.add_argument("--out", required=True, help="output directory")
    d.add_argument("--quick", action="store_true", help="about one minute: fewer steps, 1 seed unless --seeds")
    d.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3, quick 1)")
    d.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    d.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the machine is shared)")
    d.set_defaults(func=_demo)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _list(args: argparse.Namespace) -> int:
    from tokensmith.neural.registry import SYSTEMS

    if args.json:
        for s in SYSTEMS:
            print(json.dumps({"name": s.name, "tier": s.tier, "status": s.status, "modality": s.modality,
                              "recipe": s.recipe, "demo": s.demo, "why": s.why}, ensure_ascii=False))
        return 0
    w = max(len(s.name) for s in SYSTEMS)
    print(f"{'#':>2}  {'system':<{w}}  tier  {'status':<21}  {'demo':<11}  modality")
    for s in SYSTEMS:
        print(f"{s.number:>2}  {s.name:<{w}}  {s.tier:>4}  {s.status:<21}  {s.demo or '-':<11}  {s.modality}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tokensmith.neural.demos._harness import run_demo

    result = run_demo(args.system, args.out, quick=args.quick, seeds=args.seeds, device=args.device,
                      threads=args.threads)
    print(f"{result['system']}: {result.get('verdict', '')}")
    if result.get("table_md"):
        print(result["table_md"])
    print(f"wrote {args.out}/result.json ({result['seconds']} s)", file=sys.stderr)
    return 0
