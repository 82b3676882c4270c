"""A tiny authoritative DNS server for tests: answers TXT queries from a dict, over UDP on 127.0.0.1,
built with dnspython's message API (the same library the code under test resolves with)."""

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class TXTServer:
    def __init__(self):
        self.records: dict[str, list[str]] = {}  # "name.example." -> TXT strings
        self.queries: list[str] = []
        self.silent = False  # never answer (the resolver times out)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def publish(self, name: str, *values: str) -> None:
        self.records.setdefault(name.lower().rstrip(".") + ".", []).extend(values)

    def start(self) -> "TXTServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def _answer(self, data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().lower()
        self.queries.append(name)
        if name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT:
            quoted = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in self.records[name]]
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *quoted))
        return response.to_wire()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            answer = None if self.silent else self._answer(data)
            if answer is not None:
                self.sock.sendto(answer, address)
