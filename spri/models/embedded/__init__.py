"""The embedded model: SmolLM2-135M (or any GGUF) run in process by llama.cpp, installed with the
``local`` extra and chosen by the specs 'local' and 'local:PATH'.

It writes and judges its own way, all behind :meth:`LocalChatModel.for_call`: the rest of SPRI
calls it like any chat model.

- chat_model.py: the LangChain chat model (slots, grammars, digit probabilities, streaming);
- call_options.py: what it takes from a call site; subject.py: the plain parts of a draft or verdict;
- drafts.py and text.py: clean drafts; critic.py and scoring.py: verdicts read from log-probabilities;
- loading.py and streaming.py: quiet loading and token streaming; prompts.toml: the critic's prompts.
"""

from spri.models.embedded.chat_model import DEFAULT_MODEL_FILE, LocalChatModel, LocalModelError, default_model_path

__all__ = ["DEFAULT_MODEL_FILE", "LocalChatModel", "LocalModelError", "default_model_path"]
