"""Intrinsic evaluation of any tokenizer: loaders, metrics, multilingual reports."""

from tokensmith.evaluate.loaders import TokenizerAdapter, as_adapter, load_tokenizer, parse_tokenizer_arg
