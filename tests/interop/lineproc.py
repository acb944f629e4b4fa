"""Drives an interactive command-line client through pipes: write a line, then wait for an
output line that matches a pattern. Every wait is bounded; a failed wait reports the whole
transcript so far, which is what one needs to see when a client and a server disagree."""

import queue
import re
import subprocess
import threading
import time


class LineProcess:
    """A child process whose stdout and stderr are read as one stream of lines.

    Merging the two streams keeps their relative order for line-flushed writers (the JVM's
    System.out/System.err, the C client's unbuffered stderr), which the clients we drive are."""

    def __init__(self, argv, env=None, ignore=()):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     env=env, errors="replace")
        self._ignore = [re.compile(p) for p in ignore]
        self._lines = queue.Queue()
        self.transcript = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            if any(p.search(line) for p in self._ignore):
                continue
            self._lines.put(line)
        self._lines.put(None)

    def send(self, line):
        self.transcript.append(f">>> {line}")
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def next_line(self, deadline):
        """The next output line, or None at end of output; fails when the deadline passes."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self.failure("timed out waiting for output")
        try:
            line = self._lines.get(timeout=remaining)
        except queue.Empty:
            raise self.failure("timed out waiting for output") from None
        if line is not None:
            self.transcript.append(line)
        return line

    def expect(self, pattern, timeout_s):
        """Reads lines until one matches `pattern`; returns (match, the lines before it)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        before = []
        while True:
            line = self.next_line(deadline)
            if line is None:
                raise self.failure(f"output ended before a line matched {pattern!r}")
            m = rx.search(line)
            if m:
                return m, before
            before.append(line)

    def failure(self, why):
        text = "\n".join(self.transcript[-200:])
        return AssertionError(f"{why}\n--- {self.argv[0]} transcript ---\n{text}")

    def close(self, timeout_s=20):
        """Closes stdin and waits for exit, killing the process if it does not go."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=timeout_s)
        # Lines printed on the way out (e.g. the Closed event) belong to the transcript.
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.transcript.append(line)
        return self.proc.returncode
