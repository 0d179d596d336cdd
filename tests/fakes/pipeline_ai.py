"""A chat responder for the fake AI server that answers every step of the pipeline the way a model would: clusters,
ideas, articles of the asked length and image prompts, each recognised by the JSON its prompt asks for."""
from __future__ import annotations

import json
import re
import threading
from collections import Counter

from tests.fakes.openai_server import Reply, completion

COUNT = re.compile(r"Propose (\d+) content ideas for the keyword cluster “([^”]*)”")
WORDS = re.compile(r"Target about (\d+) words")
TITLE = re.compile(r"about “([^”]*)”")
IMAGES = re.compile(r"one featured image prompt and (\d+) in-article image")
ERROR = {"error": {"message": "fake provider failure", "type": "server_error", "code": None}}


class Pipeline:
    """Answers by prompt kind; counts calls per kind; `fail` makes every call (or those of some kinds) fail."""

    def __init__(self, *, words: int = 300, delay: float = 0.0, fail: set[str] | None = None):
        self.words, self.delay = words, delay
        self.fail = set(fail or ())
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._n = 0

    def kind(self, prompt: str) -> str:
        if "featured_prompt" in prompt:
            return "image_prompts"
        if "content_html" in prompt:
            return "article"
        if "estimated_word_count" in prompt:
            return "ideas"
        if '"clusters"' in prompt:
            return "clusters"
        return "other"

    def __call__(self, body: dict) -> Reply:
        prompt = body["messages"][-1]["content"]
        kind = self.kind(prompt)
        with self._lock:
            self.calls[kind] += 1
            self._n += 1
            n = self._n
        if "all" in self.fail or kind in self.fail:
            return Reply(status=500, body=ERROR)
        return Reply(body=completion(json.dumps(self.answer(kind, prompt, n))), delay=self.delay)

    def answer(self, kind: str, prompt: str, n: int) -> dict:
        if kind == "ideas":
            m = COUNT.search(prompt)
            count, cluster = (int(m.group(1)), m.group(2)) if m else (3, "topic")
            return {"ideas": [{"title": f"{cluster} idea {i + 1} #{n}", "description": f"About {cluster}",
                               "content_type": "post", "content_structure": "article",
                               "target_keywords": [cluster.lower()], "estimated_word_count": self.words}
                              for i in range(count)]}
        if kind == "article":
            m = WORDS.search(prompt)
            words = int(m.group(1)) if m else self.words
            title = (TITLE.search(prompt) or re.search("(.*)", "Article")).group(1)
            body = " ".join(["word"] * max(words - 10, 1))
            return {"content_html": f"<h2>{title}</h2><p>{body}</p><h2>More</h2><p>Closing thoughts here.</p>",
                    "meta_title": title[:60], "meta_description": f"All about {title}.",
                    "primary_keyword": title.lower()[:100], "secondary_keywords": ["guide"]}
        if kind == "image_prompts":  # as many in-article prompts as the prompt asks for
            m = IMAGES.search(prompt)
            count = int(m.group(1)) if m else 2
            return {"featured_prompt": "a bright photo of the topic",
                    "in_article_prompts": [f"picture {i + 1} of the article" for i in range(count)]}
        if kind == "clusters":
            lines = [line.strip("- ").strip() for line in prompt.split("Keywords:\n", 1)[-1].splitlines()]
            kws = [k for k in lines if k]
            return {"clusters": [{"name": f"Group {i // 5 + 1}", "description": "grouped",
                                  "keywords": kws[i:i + 5]} for i in range(0, len(kws), 5)] or
                    [{"name": "Group", "description": "", "keywords": []}]}
        return {"ok": True}
