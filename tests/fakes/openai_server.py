"""A real OpenAI-compatible HTTP server on loopback for tests: scripted replies, faults, and a request log.

Endpoints: POST /v1/chat/completions, POST /v1/images/generations, GET /v1/models, POST /runware (a fake
Runware task API), and GET /files/<name> (image links, served without a key, like a CDN). Each POST endpoint takes
the next scripted Reply from its queue, or a default reply when the queue is empty. Images follow the request like
OpenAI: response_format "b64_json" or "url" is honoured, gpt-image-* always answer base64 and refuse
response_format, and without it the answer is `image_mode`. Chat refuses for reasoning models (gpt-5*, o1/o3/o4…)
what OpenAI refuses: max_tokens and a temperature other than 1. Every request is recorded with its arrival and
finish time, and the server tracks how many requests were in flight at once.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REASONING_MODEL = re.compile(r"^(o[1-9]|gpt-5)")
# 1x1 transparent PNG: what a b64_json image reply carries.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


@dataclass
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: object = None  # dict/list → JSON; str or bytes → sent as-is (broken JSON bodies, files)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow provider)
    content_type: str = "application/json"  # text/html: a proxy's error page answered with status 200


@dataclass
class File:
    """What GET /files/<name> serves (every name serves the 1x1 PNG unless `FakeAI.files` says otherwise)."""

    data: bytes = PNG_1X1
    content_type: str = "image/png"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)  # Location of a redirect …
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: object
    started: float
    finished: float = 0.0


def completion(content: str, *, prompt_tokens: int = 120, completion_tokens: int = 80, finish_reason: str = "stop",
               model: str = "gpt-4o-mini") -> dict:
    """The body of a chat completion whose message content is `content`."""
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


class FakeAI:
    """The server and its script. Use as a context manager or call start()/stop()."""

    def __init__(self, api_key: str = "sk-test-fake"):
        self.api_key = api_key
        self.chat: deque[Reply] = deque()
        self.images: deque[Reply] = deque()
        self.runware: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.generation = 0  # bumped by reset(): requests started before it are not counted in flight
        self._lock = threading.Lock()
        self.default_delay = 0.0
        self.image_mode = "b64_json"  # or "url": the answer when no response_format is asked for
        self.image_url: str | None = None  # the link a "url" answer carries (default: a file this server serves)
        self.files: dict[str, File] = {}
        # chat requests → a reply chosen from the request (concurrent runs: answer by what the prompt asks);
        # None from it falls back to the queue
        self.chat_responder: Callable[[dict], Reply | None] | None = None
        self._server: ThreadingHTTPServer | None = None

    # --- scripting ------------------------------------------------------------------------------------------
    def reply_json(self, obj: object, **kw) -> FakeAI:
        """Queue a chat reply whose content is `obj` as JSON (kw: tokens, finish_reason, delay)."""
        delay = kw.pop("delay", 0.0)
        self.chat.append(Reply(body=completion(json.dumps(obj), **kw), delay=delay))
        return self

    def reply_content(self, content: str, **kw) -> FakeAI:
        """Queue a chat reply with raw message content (malformed JSON, prose …)."""
        delay = kw.pop("delay", 0.0)
        self.chat.append(Reply(body=completion(content, **kw), delay=delay))
        return self

    def fail(self, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
             queue: str = "chat") -> FakeAI:
        """Queue `times` error replies on one endpoint's queue."""
        body = {"error": {"message": f"fake error {status}", "type": "server_error", "code": None}}
        for _ in range(times):
            getattr(self, queue).append(Reply(status=status, body=body, headers=dict(headers or {})))
        return self

    def slow(self, seconds: float, *, queue: str = "chat", then: Reply | None = None) -> FakeAI:
        """Queue a reply that arrives after `seconds` (beyond the client's timeout in tests)."""
        reply = then or Reply(body=completion("{}"))
        reply.delay = seconds
        getattr(self, queue).append(reply)
        return self

    # --- what happened --------------------------------------------------------------------------------------
    def posts(self, path_suffix: str) -> list[Recorded]:
        """Recorded POST requests whose path ends with the suffix."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(path_suffix)]

    @property
    def url(self) -> str:
        """The OpenAI-style base URL (…/v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def file_url(self, name: str) -> str:
        """A link to a file this server serves (see `files`)."""
        return f"http://127.0.0.1:{self.port}/files/{name}"

    @property
    def runware_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/runware"

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> FakeAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        """Forget the script and the log (between tests sharing one server)."""
        with self._lock:
            self.chat.clear(), self.images.clear(), self.runware.clear(), self.requests.clear()
            # Requests of an earlier test may still be in flight (a hung reply outlives its client's timeout):
            # they belong to the old generation and no longer count, so `in_flight` never drops below zero.
            self.generation += 1
            self.in_flight = self.max_in_flight = 0
            self.default_delay = 0.0
            self.image_mode, self.image_url = "b64_json", None
            self.files.clear()
            self.chat_responder = None

    def __enter__(self) -> FakeAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- defaults when a queue is empty ----------------------------------------------------------------------
    def _next(self, queue: deque[Reply], default: Reply) -> Reply:
        with self._lock:
            return queue.popleft() if queue else default

    def _default_image(self, request: object) -> Reply:
        request = request if isinstance(request, dict) else {}
        asked, gpt_image = request.get("response_format"), str(request.get("model", "")).startswith("gpt-image")
        if gpt_image and asked is not None:
            return Reply(status=400, body={"error": {"message": "Unknown parameter: 'response_format'.",
                                                     "type": "invalid_request_error", "param": "response_format"}})
        mode = "b64_json" if gpt_image else asked or self.image_mode
        item = ({"b64_json": base64.b64encode(PNG_1X1).decode()} if mode == "b64_json"
                else {"url": self.image_url or self.file_url("generated.png")})
        return Reply(body={"created": int(time.time()), "data": [item]}, delay=self.default_delay)

    def _chat_refusal(self, request: object) -> Reply | None:
        """OpenAI's 400 for parameters a reasoning model does not take (None: the request is acceptable)."""
        request = request if isinstance(request, dict) else {}
        if not REASONING_MODEL.match(str(request.get("model", ""))):
            return None
        if "max_tokens" in request:
            message, param = ("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                              "'max_completion_tokens' instead."), "max_tokens"
        elif request.get("temperature", 1) != 1:
            message, param = (f"Unsupported value: 'temperature' does not support {request['temperature']} with "
                              "this model. Only the default (1) value is supported."), "temperature"
        else:
            return None
        return Reply(status=400, body={"error": {"message": message, "type": "invalid_request_error",
                                                 "param": param, "code": "unsupported_parameter"}})

    def _default_runware(self, tasks: object) -> Reply:
        data = []
        for task in tasks if isinstance(tasks, list) else []:
            if task.get("taskType") == "imageInference":
                for i in range(int(task.get("numberResults", 1))):
                    data.append({"taskType": "imageInference", "taskUUID": task.get("taskUUID"),
                                 "imageUUID": f"img-{i}", "imageURL": self.image_url
                                 or self.file_url(f"{task.get('taskUUID')}-{i}.webp"), "cost": 0.0013})
            elif task.get("taskType") == "authentication":
                data.append({"taskType": "authentication", "connectionSessionUUID": "session-1"})
        return Reply(body={"data": data}, delay=self.default_delay)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAI
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up mid-answer (a timeout, a refused download): nothing to do

    def _record(self, body: object) -> Recorded:
        rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                       time.monotonic())
        with self.fake._lock:
            self.fake.requests.append(rec)
        return rec

    def _send(self, reply: Reply, rec: Recorded, content_type: str | None = None) -> None:
        content_type = content_type or reply.content_type
        if reply.delay:
            time.sleep(reply.delay)
        if isinstance(reply.body, bytes):
            data = reply.body
        else:
            data = (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer
        finally:
            rec.finished = time.monotonic()

    def _authorised(self, rec: Recorded) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.fake.api_key}":
            return True
        self._send(Reply(status=401, body={"error": {"message": "Incorrect API key provided",
                                                     "type": "invalid_request_error"}}), rec)
        return False

    def do_GET(self) -> None:
        rec = self._record(None)
        if self.path.startswith("/files/"):  # image links need no key, like a CDN's signed URLs
            served = self.fake.files.get(self.path.removeprefix("/files/"), File())
            self._send(Reply(served.status, served.data, served.headers, served.delay), rec, served.content_type)
            return
        if not self._authorised(rec):
            return
        if self.path.rstrip("/") == "/v1/models":
            self._send(Reply(body={"object": "list", "data": [
                {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "test"},
                {"id": "dall-e-3", "object": "model", "created": 0, "owned_by": "test"}]}), rec)
        else:
            self._send(Reply(status=404, body={"error": {"message": "not found"}}), rec)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode(errors="replace")
        rec = self._record(body)
        fake = self.fake
        with fake._lock:
            generation = fake.generation
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            if not self._authorised(rec):
                return
            path = self.path.rstrip("/")
            if path == "/v1/chat/completions":
                refusal = fake._chat_refusal(body)
                default = Reply(status=500, body={"error": {"message": "no scripted chat reply"}})
                chosen = fake.chat_responder(body) if fake.chat_responder and isinstance(body, dict) else None
                self._send(refusal or chosen or fake._next(fake.chat, default), rec)
            elif path == "/v1/images/generations":
                self._send(fake._next(fake.images, fake._default_image(body)), rec)
            elif path == "/runware":
                self._send(fake._next(fake.runware, fake._default_runware(body)), rec)
            else:
                self._send(Reply(status=404, body={"error": {"message": f"no route {path}"}}), rec)
        finally:
            with fake._lock:
                if generation == fake.generation:
                    fake.in_flight -= 1
