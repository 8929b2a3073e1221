#!/usr/bin/env python3
"""Ports the upstream SockJS protocol suite (sockjs/sockjs-protocol, written for Python 2) to
Python 3, by exact textual substitutions, so it runs with Debian's python3-ws4py,
python3-websocket and python3-unittest2. scripts/sockjs-protocol-suite.sh calls it.

Usage: sockjs-protocol-py3.py <dir with the upstream sockjs-protocol.py, http-quirks.py and
utils.py> <output dir>

Every substitution must match: a changed upstream file stops the port with an error instead of
running a half-ported suite. The tests themselves are left as they are; only the Python 2
idioms they are written in change.
"""
import sys, os

src, out = sys.argv[1], sys.argv[2]

def port(name, subs):
    text = open(os.path.join(src, name), encoding='utf-8').read()
    for old, new in subs:
        if old not in text:
            sys.exit('sockjs-protocol-py3.py: %r not found in %s' % (old, name))
        text = text.replace(old, new)
    open(os.path.join(out, name), 'w', encoding='utf-8').write(text)

port('sockjs-protocol.py', [
    ('lambda(ws):', 'lambda ws:'),
    ('unichr(i)', 'chr(i)'),
    ('[int, long]', '[int]'),
    ('import json\n', 'import py2json as json\n'),
])

port('http-quirks.py', [
    ('import urlparse\n', 'import urllib.parse as urlparse\n'),
    ('body = res.read()\n', "body = res.read().decode('utf-8')\n"),
])

port('utils.py', [
    ('import urlparse\n', 'import urllib.parse as urlparse\n'),
    ('import Queue\n', 'import queue as Queue\nimport codecs\n'),
    ('async=False', 'async_=False'),
    ('if not async:', 'if not async_:'),
    ("method is 'POST'", "method == 'POST'"),
    ('isinstance(body, unicode)', 'isinstance(body, str)'),
    ('self.body = self.res.read()', "self.body = self.res.read().decode('latin-1')"),
    ('data =  self.res.read(10240)\n        if data:\n            return data',
     "data =  self.res.read(10240)\n        if data:\n            return data.decode('latin-1')"),
    ("HttpResponse('POST', url, async=True, **kwargs)", "HttpResponse('POST', url, async_=True, **kwargs)"),
    ("queue.put(unicode(str(m), 'utf-8'))", 'queue.put(str(m))'),
    ('queue.put((code, reason))',
     "queue.put((code, reason.decode('utf-8') if isinstance(reason, bytes) else reason))"),
    # Python 2 read sockets into byte strings and compared them with str literals, binary
    # ones too (the hixie-76 nonce); latin-1 maps bytes to str one to one, and py2json.loads
    # decodes bodies as UTF-8 as Python 2's json did.
    ("        c = s.recv(1)\n", "        c = s.recv(1).decode('latin-1')\n"),
    ("        self.s = socket.create_connection((u.hostname, u.port), timeout=1)\n",
     "        self.s = socket.create_connection((u.hostname, u.port), timeout=1)\n"
     "        self.decoder = codecs.getincrementaldecoder('latin-1')()\n"),
    ("            return self.s.recv(999999)\n", "            return self.decoder.decode(self.s.recv(999999))\n"),
    ("            size -= len(c)\n            data.append( c )\n",
     "            size -= len(c)\n            data.append( self.decoder.decode(c) )\n"),
    ("            if not c:\n                break\n            data.append( c )\n",
     "            if not c:\n                break\n            data.append( self.decoder.decode(c) )\n"),
    ("r = self.s.recv(1) == ''", "r = self.s.recv(1) == b''"),
    ("        self.s.sendall(data)\n",
     "        self.s.sendall(data.encode('latin-1') if isinstance(data, str) else data)\n"),
])

# httplib_fork.py is Python 2's httplib with small changes; Python 3's http.client does what the
# suite needs, except that it adds `Content-Length: 0` to a POST without a body, which
# http-quirks.py must be able to leave out.
open(os.path.join(out, 'py2json.py'), 'w').write('''import json as _json
from json import *


def loads(s, **kwargs):
    # Bodies arrive as latin-1 str (one char per byte); Python 2's json decoded bytes as UTF-8.
    if isinstance(s, str):
        try:
            s = s.encode('latin-1')
        except UnicodeEncodeError:
            pass
    return _json.loads(s, **kwargs)
''')

open(os.path.join(out, 'httplib_fork.py'), 'w').write('''import http.client as _client
from http.client import *


class HTTPConnection(_client.HTTPConnection):
    @staticmethod
    def _get_content_length(body, method):
        return None if body is None else _client.HTTPConnection._get_content_length(body, method)
''')
