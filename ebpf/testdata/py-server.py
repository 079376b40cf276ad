"""Test server for the sensor's integration tests (Python http.server, HTTP/1.1 keep-alive)."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/py/hello":
            name = parse_qs(url.query).get("name", ["nobody"])[0]
            self.reply(200, f"hello {name} from python")
        else:
            self.reply(404, "python has no such page")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode(errors="replace")
        if self.path == "/py/form":
            self.reply(200, f"python got {n} bytes: {body[:60]}")
        else:
            self.reply(500, "python failure marker")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
