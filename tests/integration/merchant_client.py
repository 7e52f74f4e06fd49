#!/usr/bin/env python3
"""A paygate merchant in Python, written from docs/ alone (docs/integration.md,
docs/protocol.md, docs/api.md, docs/errors.md, docs/platform.md, docs/bank.md, docs/http.md).

Nothing here was taken from the servers' C code: every rule it checks is one the docs state,
and each check names the page that states it, so a failure says which side moved. It is what
a merchant integrating in another language would write, run by tests/integration/
test_merchant_client.sh against a real sandbox bank and platform:

  merchant_client.py keygen FILE [--rsa]   a key pair: FILE (PKCS#8 PEM, 0600), FILE.pub (SPKI)
  merchant_client.py selftest              the test vectors of docs/protocol.md
  merchant_client.py run --platform URL --bank URL --merchant ID --key FILE
                         --other-merchant ID --other-key FILE
                         --consumer LOGIN --password PW --pay-password NNNNNN

Python 3 standard library plus python3-cryptography (Ed25519, RSA).
"""

import argparse
import base64
import calendar
import hashlib
import html.parser
import http.client
import http.server
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from decimal import Decimal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs')
WINDOW_S = 300  # docs/protocol.md: PAY_SIGNATURE_WINDOW_S
WAIT_S = 90     # bound of every wait for an event (a loaded machine; never a stand-in sleep)


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def expect_eq(got, want, what):
    if got != want:
        raise Failure(f'{what}: got {got!r}, want {want!r}')


# ---------------------------------------------------------------- signatures (protocol.md)

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode('ascii')


def b64url_decode(text):
    # protocol.md: base64url without padding, decoded canonically (no stray trailing bits)
    check(re.fullmatch(r'[A-Za-z0-9_-]+', text) is not None, f'sig is not base64url: {text!r}')
    raw = base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
    check(b64url(raw) == text, 'sig does not decode canonically')
    return raw


def sha256_hex(body):
    return hashlib.sha256(body).hexdigest()


def new_nonce():
    return b64url(secrets.token_bytes(16))  # integration.md: 16 random bytes, base64url


def unix_seconds():
    return int(time.time())


class Key:
    """A signing key: Ed25519 (PAYGATE-ED25519) or RSA (PAYGATE-RSA-SHA256)."""

    def __init__(self, private, key_id):
        self.private = private
        self.key_id = key_id
        self.rsa = isinstance(private, rsa.RSAPrivateKey)
        self.scheme = 'PAYGATE-RSA-SHA256' if self.rsa else 'PAYGATE-ED25519'

    @staticmethod
    def load(path, key_id):
        with open(path, 'rb') as f:
            return Key(serialization.load_pem_private_key(f.read(), None), key_id)

    def sign(self, data):
        if self.rsa:
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.private.sign(data)


def canonical_request(method, target, ts, nonce, body):
    return f'{method}\n{target}\n{ts}\n{nonce}\n{sha256_hex(body)}\n'.encode('ascii')


def canonical_response(status, ts, nonce, request_nonce, body):
    return f'{status}\n{ts}\n{nonce}\n{request_nonce}\n{sha256_hex(body)}\n'.encode('ascii')


def authorization(key, method, target, body, ts=None, nonce=None):
    ts = unix_seconds() if ts is None else ts
    nonce = new_nonce() if nonce is None else nonce
    sig = b64url(key.sign(canonical_request(method, target, ts, nonce, body)))
    return f'{key.scheme} keyId="{key.key_id}", ts="{ts}", nonce="{nonce}", sig="{sig}"', nonce


# protocol.md, "Header grammar": scheme SP param *("," *SP param), each of the four once
_PARAM = re.compile(r'(keyId|ts|nonce|sig)="([^"\\]*)"')
_VALUE = {'keyId': r'[A-Za-z0-9._:-]{1,64}', 'ts': r'0|[1-9][0-9]{0,17}',
          'nonce': r'[A-Za-z0-9_-]{16,64}', 'sig': r'[A-Za-z0-9_-]+'}


def parse_signature(header):
    """The four parameters of a signature header, or raise Failure (SIGNATURE_MALFORMED)."""
    check(header is not None and header != '', 'no signature header')
    check(len(header.encode()) <= 1024, 'signature header over 1024 bytes')
    scheme, sep, rest = header.partition(' ')
    check(sep == ' ' and scheme in ('PAYGATE-ED25519', 'PAYGATE-RSA-SHA256'),
          f'signature scheme of {header!r}')
    params = {}
    pos = 0
    while True:
        m = _PARAM.match(rest, pos)
        check(m is not None, f'signature parameter at {rest[pos:]!r}')
        name, value = m.group(1), m.group(2)
        check(name not in params, f'duplicate {name}')
        check(re.fullmatch(_VALUE[name], value) is not None, f'{name}={value!r}')
        params[name] = value
        pos = m.end()
        if pos == len(rest):
            break
        check(rest[pos] == ',', f'no comma at {rest[pos:]!r}')
        pos += 1
        while pos < len(rest) and rest[pos] == ' ':
            pos += 1
    check(len(params) == 4, f'signature header lacks a parameter: {header!r}')
    params['scheme'] = scheme
    return params


class PlatformKey:
    """The platform's pinned Ed25519 key (api.md: GET /.well-known/paygate-platform-key)."""

    def __init__(self, key_id, public):
        self.key_id = key_id
        self.public = public

    def verify(self, params, canonical, now=None):
        now = unix_seconds() if now is None else now
        is_rsa = isinstance(self.public, rsa.RSAPublicKey)
        expect_eq(params['scheme'], 'PAYGATE-RSA-SHA256' if is_rsa else 'PAYGATE-ED25519',
                  f'scheme of {self.key_id}\'s signature')
        expect_eq(params['keyId'], self.key_id, 'keyId of the signature')
        check(abs(int(params['ts']) - now) <= WINDOW_S,
              f'signature ts {params["ts"]} is not within {WINDOW_S} s of {now}')
        sig = b64url_decode(params['sig'])
        try:
            if is_rsa:  # protocol.md: at least 256 bytes for RSA
                check(len(sig) >= 256, 'length of an RSA signature')
                self.public.verify(sig, canonical, padding.PKCS1v15(), hashes.SHA256())
            else:
                expect_eq(len(sig), 64, 'length of an Ed25519 signature')
                self.public.verify(sig, canonical)
        except InvalidSignature:
            raise Failure(f'{self.key_id}\'s signature does not verify') from None


# ---------------------------------------------------------------- the test vectors

def protocol_vectors():
    with open(os.path.join(DOCS, 'protocol.md'), encoding='utf-8') as f:
        text = f.read()
    block = text.split('<!-- test-vectors:begin -->')[1].split('<!-- test-vectors:end -->')[0]
    vec = {}
    for line in block.splitlines():
        m = re.match(r'^([a-z0-9_.]+) += ?(.*)$', line)
        if m:
            vec[m.group(1)] = m.group(2)
    pems = re.findall(r'-----BEGIN PRIVATE KEY-----\n.*?-----END PRIVATE KEY-----\n', text, re.S)
    check(len(pems) == 1, 'protocol.md has one RSA test key')
    return vec, pems[0].encode()


def selftest():
    """protocol.md's vectors, byte for byte: Ed25519 request and response, RSA request."""
    v, rsa_pem = protocol_vectors()
    unesc = lambda s: s.replace('\\n', '\n').encode()
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v['ed25519.seed_hex']))
    pub = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expect_eq(pub.hex(), v['ed25519.public_key_hex'], 'vector public key')
    expect_eq(base64.b64encode(pub).decode(), v['ed25519.public_key_b64'], 'vector key base64')
    key = Key(ed, v['request.key_id'])
    body = v['request.body'].encode()
    expect_eq(sha256_hex(body), v['request.body_sha256'], 'vector body hash')
    canon = canonical_request(v['request.method'], v['request.target'], v['request.ts'],
                              v['request.nonce'], body)
    expect_eq(canon, unesc(v['request.canonical']), 'vector canonical request')
    header, _ = authorization(key, v['request.method'], v['request.target'], body,
                              v['request.ts'], v['request.nonce'])
    expect_eq(header, v['request.header'], 'vector request header')
    rbody = v['response.body'].encode()
    rcanon = canonical_response(v['response.status'], v['response.ts'], v['response.nonce'],
                                v['response.request_nonce'], rbody)
    expect_eq(rcanon, unesc(v['response.canonical']), 'vector canonical response')
    expect_eq(b64url(ed.sign(rcanon)), v['response.sig'], 'vector response sig')
    p = parse_signature(v['response.header'])
    PlatformKey(v['response.key_id'], ed.public_key()).verify(p, rcanon, int(v['response.ts']))
    rkey = Key(serialization.load_pem_private_key(rsa_pem, None), v['rsa.key_id'])
    rcanon = canonical_request(v['rsa.method'], v['rsa.target'], v['rsa.ts'], v['rsa.nonce'], b'')
    expect_eq(rcanon, unesc(v['rsa.canonical']), 'vector RSA canonical')
    header, _ = authorization(rkey, v['rsa.method'], v['rsa.target'], b'', v['rsa.ts'],
                              v['rsa.nonce'])
    expect_eq(header, v['rsa.header'], 'vector RSA header')
    # a tampered answer must not verify
    bad = canonical_response(v['response.status'], v['response.ts'], v['response.nonce'],
                             v['response.request_nonce'], rbody + b' ')
    try:
        PlatformKey(v['response.key_id'], ed.public_key()).verify(p, bad, int(v['response.ts']))
    except Failure:
        return
    raise Failure('a tampered answer verified')


def keygen(path, use_rsa):
    if use_rsa:
        private = rsa.generate_private_key(65537, 2048)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # integration.md: 0600
    with os.fdopen(fd, 'wb') as f:
        f.write(pem)
    pub = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    with open(path + '.pub', 'wb') as f:
        f.write(pub)


# ---------------------------------------------------------------- HTTP

class Answer:
    def __init__(self, status, headers, body, request_nonce):
        self.status = status
        self.headers = headers  # lower-case name -> value (the last one)
        self.body = body
        self.request_nonce = request_nonce
        self._json = None

    @property
    def json(self):
        if self._json is None:
            self._json = json.loads(self.body.decode('utf-8'))
        return self._json

    def header(self, name):
        return self.headers.get(name.lower())


def raw_request(base, method, target, body=b'', headers=None):
    """One HTTP/1.1 request with exactly these bytes; (status, headers, raw body)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body or method in ('POST', 'PUT'):
            conn.putheader('Content-Length', str(len(body)))
        conn.endheaders(body if body else None)
        r = conn.getresponse()
        data = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            hdrs[k.lower()] = v
        cookies = [v for k, v in r.getheaders() if k.lower() == 'set-cookie']
        return r.status, hdrs, data, cookies
    finally:
        conn.close()


class Platform:
    """The signed open API (api.md, "Conventions"): every answer verified before it is read."""

    def __init__(self, base, key, platform_key):
        self.base = base
        self.key = key
        self.pk = platform_key
        self.calls = 0

    def verify(self, status, headers, body, request_nonce):
        sig = headers.get('paygate-signature')
        check(sig is not None, f'an answer {status} without Paygate-Signature: {body[:200]!r}')
        p = parse_signature(sig)
        self.pk.verify(p, canonical_response(status, p['ts'], p['nonce'], request_nonce, body))
        return p

    def send(self, method, target, body=b'', idem=None, content_type='application/json',
             auth=True, extra=None, key=None):
        """body: the exact bytes sent (and signed). Returns the verified Answer."""
        headers = {}
        nonce = ''
        if auth:
            header, nonce = authorization(key or self.key, method, target, body)
            headers['Authorization'] = header
        if body and content_type:
            headers['Content-Type'] = content_type
        if idem:
            headers['Idempotency-Key'] = idem
        headers.update(extra or {})
        status, hdrs, data, _ = raw_request(self.base, method, target, body, headers)
        self.verify(status, hdrs, data, nonce)
        self.calls += 1
        return Answer(status, hdrs, data, nonce)

    def post(self, target, payload, idem, **kw):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.send('POST', target, body, idem, **kw)

    def get(self, target, **kw):
        return self.send('GET', target, **kw)


def expect_answer(a, status, code=None, field=None, what=''):
    """An answer of this status; for an error, the code and the field (or no field)."""
    check(a.status == status, f'{what}: status {a.status}, want {status}: {a.body[:300]!r}')
    if code is None:
        return a.json
    e = a.json.get('error')
    check(isinstance(e, dict), f'{what}: no error object: {a.body[:300]!r}')
    expect_eq(e.get('code'), code, f'{what}: error code')
    expect_eq(e.get('field'), field, f'{what}: error field')
    check(isinstance(e.get('message'), str) and e['message'], f'{what}: no message')
    extra = set(e) - {'code', 'message', 'field'}
    check(not extra, f'{what}: undocumented error members {extra}')
    return a.json


def error_statuses():
    """docs/errors.md: code -> HTTP status, so an error's status is checked against its code."""
    out = {}
    with open(os.path.join(DOCS, 'errors.md'), encoding='utf-8') as f:
        for line in f:
            m = re.match(r'^\| `([A-Z_0-9]+)` \| (\d{3}) \|', line)
            if m:
                out[m.group(1)] = int(m.group(2))
    check(len(out) > 50, 'errors.md lists the codes')
    return out


# ---------------------------------------------------------------- pages (integration.md §10)

class Page(html.parser.HTMLParser):
    """What a script reads from a page: data-page, elements by id, forms and their fields."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.data_page = None
        self.ids = {}        # id -> attributes
        self.forms = []      # {'id','class','action','fields':{name:value}}
        self.links = {}      # id -> href
        self.text = {}       # id -> its text
        self._open_ids = []
        self._form = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else '') for k, v in attrs}
        if tag == 'body' and 'data-page' in a:
            self.data_page = a['data-page']
        if 'id' in a:
            self.ids[a['id']] = a
            self.text.setdefault(a['id'], '')
            if tag not in ('input', 'img', 'br', 'meta', 'link'):
                self._open_ids.append((tag, a['id']))
        if tag == 'a' and 'id' in a and 'href' in a:
            self.links[a['id']] = a['href']
        if tag == 'form':
            self._form = {'id': a.get('id', ''), 'class': a.get('class', ''),
                          'action': a.get('action', ''), 'fields': {}, 'buttons': {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ('input', 'button', 'select', 'textarea'):
            if tag == 'button' or a.get('type') == 'submit':
                if 'id' in a:
                    self._form['buttons'][a['id']] = (a.get('name'), a.get('value', ''))
            elif 'name' in a:
                self._form['fields'][a['name']] = a.get('value', '')

    def handle_endtag(self, tag):
        if tag == 'form':
            self._form = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data):
        for _, i in self._open_ids:
            self.text[i] += data

    def form(self, form_id=None, cls=None, button=None):
        for f in self.forms:
            if form_id is not None and f['id'] != form_id:
                continue
            if cls is not None and cls not in f['class'].split():
                continue
            if button is not None and button not in f['buttons']:
                continue
            return f
        raise Failure(f'page {self.data_page}: no form id={form_id} class={cls} button={button}')


class Browser:
    """A plain HTTP client with a cookie jar per origin: what integration.md §10 says suffices."""

    def __init__(self, accept_language=None):
        self.jars = {}
        self.lang = accept_language
        self.last = None

    def _origin(self, url):
        u = urllib.parse.urlsplit(url)
        return f'{u.scheme}://{u.netloc}'

    def request(self, method, url, form=None, referer=None):
        origin = self._origin(url)
        u = urllib.parse.urlsplit(url)
        target = u.path + ('?' + u.query if u.query else '')
        jar = self.jars.setdefault(origin, {})
        headers = {}
        if jar:
            headers['Cookie'] = '; '.join(f'{k}={v}' for k, v in jar.items())
        if self.lang:
            headers['Accept-Language'] = self.lang
        if referer:
            headers['Referer'] = referer
        body = b''
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers['Content-Type'] = 'application/x-www-form-urlencoded'
        status, hdrs, data, cookies = raw_request(origin, method, target, body, headers)
        for c in cookies:
            name, _, rest = c.partition('=')
            value = rest.split(';', 1)[0]
            if value == '' or 'max-age=0' in c.lower():
                jar.pop(name.strip(), None)
            else:
                jar[name.strip()] = value
        return status, hdrs, data

    def open(self, method, url, form=None, referer=None, follow=True):
        """Follows 30x like a browser (POST then GET); returns (status, Page, url)."""
        for _ in range(10):
            status, hdrs, data = self.request(method, url, form, referer)
            if follow and status in (301, 302, 303, 307) and 'location' in hdrs:
                referer = url
                url = urllib.parse.urljoin(url, hdrs['location'])
                method, form = 'GET', None
                continue
            page = Page(data.decode('utf-8', 'replace'))
            self.last = (status, page, url, data)
            return status, page, url
        raise Failure(f'too many redirects at {url}')

    def submit(self, page, url, form, extra=None, button=None, expect=None):
        fields = dict(form['fields'])
        if button and form['buttons'].get(button, (None,))[0]:
            name, value = form['buttons'][button]
            fields[name] = value
        fields.update(extra or {})
        action = urllib.parse.urljoin(url, form['action'])
        status, p, u = self.open('POST', action, fields, referer=url)
        if expect is not None and p.data_page != expect:
            raise Failure(f'after {form["id"] or form["action"]} on {page.data_page}: page '
                          f'{p.data_page} ({status}), want {expect}; #code '
                          f'{p.text.get("code")!r} #field {p.text.get("field")!r} #error '
                          f'{p.text.get("error")!r}')
        return status, p, u


# ---------------------------------------------------------------- notifications (§6)

class Notifications:
    """The merchant's notify endpoint: verifies, de-duplicates, records, answers `success`."""

    def __init__(self, platform_key, merchant_id):
        self.pk = platform_key
        self.merchant_id = merchant_id
        self.orders = {}            # out_trade_no -> (value, currency) of the merchant's order
        self.received = []          # every delivery: dict(target, body, sig, payload, answer)
        self.seen_ids = set()       # notify_ids applied (de-duplication, step 3)
        self.seen_nonces = set()
        self.fail_once = set()      # out_trade_nos whose next notification gets a wrong answer
        self.bank_cert = None       # the bank's signing certificate, checked against its CA
        self.bank_received = []     # the bank's notifications (docs/bank.md, "Notification")
        self.problems = []          # anything refused: the test fails on any
        self.cond = threading.Condition()
        notes = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n)
                if self.path.startswith('/banknotify'):
                    status, answer = notes.handle_bank(self.headers, body)
                else:
                    status, answer = notes.handle(self.path, self.headers, body)
                self.send_response(status)
                self.send_header('Content-Type', 'text/plain')
                self.send_header('Content-Length', str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, query='shop=tea'):
        return f'http://127.0.0.1:{self.port}/notify?{query}'

    def handle(self, target, headers, body):
        """integration.md §6: verify, check it is ours, de-duplicate, store, then `success`."""
        rec = {'target': target, 'body': body, 'sig': headers.get('Paygate-Signature'),
               'content_type': headers.get('Content-Type'), 'payload': None, 'answer': None}
        try:
            p = parse_signature(rec['sig'])
            self.pk.verify(p, canonical_request('POST', target, p['ts'], p['nonce'], body))
            with self.cond:
                check(p['nonce'] not in self.seen_nonces, 'a notification nonce came twice')
                self.seen_nonces.add(p['nonce'])
            rec['nonce'] = p['nonce']
            payload = json.loads(body.decode('utf-8'))
            rec['payload'] = payload
            t = payload['trade']
            expect_eq(t['merchant_id'], self.merchant_id, 'notification merchant_id')
            order = self.orders.get(t['out_trade_no'])
            check(order is not None, f'a notification of no order of ours: {t["out_trade_no"]}')
            expect_eq((t['amount']['value'], t['amount']['currency']), order,
                      'notification amount')
        except (Failure, ValueError, KeyError, TypeError) as e:
            with self.cond:
                rec['answer'] = 400
                self.problems.append(f'notification refused: {e}: {body[:300]!r}')
                self.received.append(rec)
                self.cond.notify_all()
            return 400, b'refused'
        with self.cond:
            otn = payload['trade']['out_trade_no']
            if otn in self.fail_once:
                self.fail_once.discard(otn)
                rec['answer'] = 500
                self.received.append(rec)
                self.cond.notify_all()
                return 500, b'busy'
            rec['answer'] = 200
            rec['duplicate'] = payload['notify_id'] in self.seen_ids
            self.seen_ids.add(payload['notify_id'])
            self.received.append(rec)
            self.cond.notify_all()
        return 200, b'success'

    def handle_bank(self, headers, body):
        """docs/bank.md, "Notification (HS)": notifyData verified with the bank's certificate
        over its decoded bytes before they are parsed; any 2xx answers it."""
        rec = {'content_type': headers.get('Content-Type'), 'data': None}
        try:
            form = dict(urllib.parse.parse_qsl(body.decode('ascii'), strict_parsing=True))
            data = base64.b64decode(form['notifyData'], validate=True)
            sig = base64.b64decode(form['signMsg'], validate=True)
            self.bank_cert.public_key().verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            rec['data'] = json.loads(data)
            rec['merVAR'] = form.get('merVAR')
        except (ValueError, KeyError, InvalidSignature, AttributeError) as e:
            with self.cond:
                self.problems.append(f'bank notification refused: {e!r}: {body[:300]!r}')
                self.cond.notify_all()
            return 400, b'refused'
        with self.cond:
            self.bank_received.append(rec)
            self.cond.notify_all()
        return 200, b'OK'

    def wait_bank(self, pred, what):
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                for r in self.bank_received:
                    if pred(r['data']):
                        return r
                left = deadline - time.monotonic()
                check(left > 0, f'no bank notification {what} within {WAIT_S} s')
                self.cond.wait(left)

    def wait(self, pred, what):
        """The first delivery matching pred, waiting for it at most WAIT_S seconds."""
        deadline = time.monotonic() + WAIT_S
        with self.cond:
            while True:
                for r in self.received:
                    if r['payload'] is not None and pred(r):
                        return r
                left = deadline - time.monotonic()
                check(left > 0, f'no notification {what} within {WAIT_S} s; got '
                      f'{[(r["payload"] or {}).get("event") for r in self.received]}')
                self.cond.wait(left)

    def of(self, trade_id, event=None):
        with self.cond:
            return [r for r in self.received if r['payload'] is not None
                    and r['payload']['trade']['trade_id'] == trade_id
                    and (event is None or r['payload']['event'] == event)]


# ---------------------------------------------------------------- the merchant's run

MINOR = Decimal('0.01')


def money(value, currency='CNY'):
    return {'value': value, 'currency': currency}


def fee_of(value, bp=60):
    """platform.md, "Fees": amount x fee_bp / 10000, half to even (no minimum or cap set)."""
    return (Decimal(value) * bp / 10000).quantize(MINOR, rounding='ROUND_HALF_EVEN')


TRADE_FIELDS = {'trade_id', 'merchant_id', 'out_trade_no', 'subject', 'product', 'notify_url',
                'return_url', 'amount', 'state', 'fee', 'refunded', 'created_at', 'expires_at',
                'paid_at', 'closed_at', 'finished_at'}
RFC3339 = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')
TRADE_ID = re.compile(r'^tr_[0-9A-Z]{26}$')


def iso_ms(text):
    """An RFC 3339 UTC time as Unix milliseconds."""
    return calendar.timegm(time.strptime(text[:19], '%Y-%m-%dT%H:%M:%S')) * 1000


def check_trade(t, what, state=None):
    """api.md, "The trade object": the fields a trade of this state and product has."""
    want = set(TRADE_FIELDS)
    if t.get('state') == 'WAIT_BUYER_PAY' and t.get('risk_review') is None:
        want.add('cashier_url')
        if t.get('product') == 'qr':
            want.add('qr_url')
    if t.get('paid_at') is not None:
        want.add('pay_method')
    if t.get('state') == 'TRADE_CLOSED':
        want.add('close_reason')
    if t.get('product') == 'escrow':
        want |= {'ship_by', 'shipped_at', 'confirm_by', 'logistics_company', 'tracking_no'}
    if 'risk_review' in t:
        want.add('risk_review')
    expect_eq(set(t), want, f'{what}: the trade object\'s fields')
    check(TRADE_ID.match(t['trade_id']), f'{what}: trade_id {t["trade_id"]}')
    for k in ('created_at', 'expires_at', 'paid_at', 'closed_at', 'finished_at'):
        check(t[k] is None or RFC3339.match(t[k]), f'{what}: {k} {t[k]!r} is not RFC 3339 UTC')
    for k in ('amount', 'fee', 'refunded'):
        check(set(t[k]) == {'value', 'currency'} and isinstance(t[k]['value'], str),
              f'{what}: {k} is not money: {t[k]}')
    if state is not None:
        expect_eq(t['state'], state, f'{what}: state')
    return t


class Run:
    def __init__(self, args):
        self.args = args
        self.errors = error_statuses()
        self.steps = 0
        self.key = Key.load(args.key, args.merchant)
        self.other_key = Key.load(args.other_key, args.other_merchant)
        self.base = args.platform.rstrip('/')
        self.bank = args.bank.rstrip('/')
        self.run_id = b64url(secrets.token_bytes(6)).replace('-', 'x').replace('_', 'y')
        # money the merchant expects, in Decimal CNY (api.md, "GET /v1/balance")
        self.available = Decimal(0)
        self.fees = Decimal(0)
        self.in_escrow = Decimal(0)
        self._first_create_body = {}

    def step(self, text):
        self.steps += 1
        print(f'ok {self.steps} - {text}', flush=True)

    def otn(self, name):
        return f'{self.run_id}-{name}'

    # -- the platform key, pinned (integration.md §1.3)
    def pin_key(self):
        status, hdrs, body, _ = raw_request(self.base, 'GET', '/.well-known/paygate-platform-key')
        expect_eq(status, 200, 'platform key status')
        k = json.loads(body)
        expect_eq(k['alg'], 'ed25519', 'platform key alg')
        raw = base64.b64decode(k['public_key'], validate=True)
        expect_eq(len(raw), 32, 'platform key length')
        expect_eq(base64.b64encode(raw).decode(), k['public_key'], 'standard base64 key')
        pem_key = serialization.load_pem_public_key(k['public_key_pem'].encode())
        expect_eq(pem_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
                  raw, 'the PEM and the base64 key are one key')
        self.pk = PlatformKey(k['key_id'], ed25519.Ed25519PublicKey.from_public_bytes(raw))
        # the key's own answer is signed too (an unsigned request: empty REQUEST_NONCE)
        self.api = Platform(self.base, self.key, self.pk)
        self.api.verify(status, hdrs, body, '')
        self.other = Platform(self.base, self.other_key, self.pk)
        self.notes = Notifications(self.pk, self.args.merchant)
        self.step(f'platform key pinned: {k["key_id"]}, answer signed')

    def create(self, name, value, product=None, notify=True, extra=None, currency='CNY'):
        otn = self.otn(name)
        payload = {'out_trade_no': otn, 'amount': money(value, currency), 'subject': f'Tea {name}',
                   'return_url': f'http://127.0.0.1:9/orders/{otn}'}
        if notify:
            payload['notify_url'] = self.notes.url()
        if product:
            payload['product'] = product
        payload.update(extra or {})
        self.notes.orders[otn] = (value, currency)
        body = json.dumps(payload, separators=(',', ':')).encode()
        a = self.api.post('/v1/trades', body, f'create-{otn}')
        t = check_trade(expect_answer(a, 201, what=f'create {name}'), f'created {name}',
                        'WAIT_BUYER_PAY')
        self._first_create_body[t['trade_id']] = a.body
        expect_eq(t['out_trade_no'], otn, 'out_trade_no')
        expect_eq(t['amount'], money(value, currency), 'amount')
        expect_eq(t['merchant_id'], self.args.merchant, 'merchant_id')
        expect_eq(t['product'], product or 'page', 'product')
        expect_eq(t['fee'], money('0.00', currency), 'fee before payment')
        check(t['cashier_url'] == f'{self.base}/cashier/{t["trade_id"]}',
              f'cashier_url {t["cashier_url"]}')
        return t, body

    def query(self, trade_id, what):
        a = self.api.get(f'/v1/trades/{trade_id}')
        return check_trade(expect_answer(a, 200, what=what), what)

    # -- paying, as the consumer, by plain HTTP (integration.md §10)
    def login(self, b, url, want_login, want_after):
        st, p, url = b.open('GET', url)
        expect_eq(p.data_page, want_login, f'page at {url} ({st})')
        f = p.form('login-form')
        check('csrf' in f['fields'] and f['fields']['csrf'], 'the login form has a csrf field')
        return b.submit(p, url, f, {'login': self.args.consumer, 'password': self.args.password},
                        expect=want_after)

    def check_amount(self, p, t):
        a = p.ids.get('amount', {})
        expect_eq((a.get('data-amount'), a.get('data-currency')),
                  (t['amount']['value'], t['amount']['currency']), f'#amount of {p.data_page}')

    def pay_wallet(self, t, state='TRADE_SUCCESS'):
        b = Browser()
        st, p, url = self.login(b, t['cashier_url'], 'cashier-login', 'cashier-pay')
        self.check_amount(p, t)
        expect_eq(p.ids.get('state', {}).get('data-state'), 'WAIT_BUYER_PAY', '#state')
        check('data-amount' in p.ids.get('balance', {}), 'the cashier shows #balance')
        st, p, url = b.submit(p, url, p.form('wallet-form'),
                              {'pay_password': self.args.pay_password}, expect='cashier-paid')
        check('paid' in p.ids, 'the paid page has #paid')
        self.check_return(p.links.get('return'), t, state)
        return p

    def check_return(self, href, t, state):
        """api.md, "Return to the merchant": the link's signed query."""
        check(href, 'no #return link')
        expect_eq(href.split('?')[0], t['return_url'], 'the return link goes to return_url')
        query = href.split('?', 1)[1]
        check(query.startswith('trade_id='), f'the return query starts with trade_id=: {query}')
        signed, sep, sign = query.rpartition('&sign=')
        check(sep, 'the return query has &sign=')
        q = dict(urllib.parse.parse_qsl(signed, keep_blank_values=True))
        expect_eq(set(q), {'trade_id', 'out_trade_no', 'state', 'amount', 'currency', 'ts'},
                  'the return query\'s fields')
        expect_eq((q['trade_id'], q['out_trade_no'], q['state'], q['amount'], q['currency']),
                  (t['trade_id'], t['out_trade_no'], state, t['amount']['value'],
                   t['amount']['currency']), 'the return query')
        try:
            self.pk.public.verify(b64url_decode(sign), signed.encode())
        except InvalidSignature:
            raise Failure(f'the return link\'s sign does not verify: {href}') from None

    def pay_qr(self, t):
        check(t.get('qr_url'), 'a qr trade has qr_url')
        b = Browser()
        st, p, url = self.login(b, t['qr_url'], 'mobile-login', 'mobile-confirm')
        self.check_amount(p, t)
        b.submit(p, url, p.form('confirm-form'), {'pay_password': self.args.pay_password},
                 expect='mobile-paid')

    def bank_sms(self, phone):
        status, _, body, _ = raw_request(self.bank, 'GET', '/sandbox/sms?format=json')
        expect_eq(status, 200, 'the bank\'s /sandbox/sms?format=json')
        for m in json.loads(body)['messages']:  # newest first (docs/bank.md)
            if m['phone'] == phone:
                check(re.fullmatch(r'\d{6}', m['code']), f'SMS code {m["code"]!r}')
                return m['code']
        raise Failure(f'no SMS to {phone} at the bank')

    def pay_bank(self, t, card='6222020000000015', phone='13800000001'):
        """The cashier's online banking: the B2C form to the bank, then the bank's pages."""
        b = Browser()
        st, p, url = b.open('GET', t['cashier_url'])
        expect_eq(p.data_page, 'cashier-login', 'the cashier before login')
        f = p.form(cls='bank-form', button='bank-icbc')
        st, p, url = b.submit(p, url, f, button='bank-icbc', expect='bank-redirect')
        f = p.form('bank-form')
        expect_eq(f['action'], f'{self.bank}/b2c/pay', 'the B2C form posts to the bank')
        for k in ('interfaceName', 'interfaceVersion', 'tranData', 'merSignMsg', 'merCert'):
            check(k in f['fields'], f'the B2C form has {k}')
        order = json.loads(base64.b64decode(f['fields']['tranData'], validate=True))
        expect_eq(order['amount'], int(Decimal(t['amount']['value']) * 100),
                  'tranData amount in minor units (docs/bank.md)')
        check(re.fullmatch(r'\d{14}', order['orderDate']), 'orderDate YYYYMMDDhhmmss')
        st, p, url = b.submit(p, url, f, expect='card')  # Referer: the platform's page
        return self.bank_pages(b, p, url, t['amount']['value'], card, phone)

    def bank_pages(self, b, p, url, value, card='6222020000000015', phone='13800000001'):
        """docs/bank.md, "B2C gateway": card number, card password, SMS code, confirmation."""
        expect_eq(p.ids.get('order-amount', {}).get('data-amount'), value,
                  'the bank\'s #order-amount')
        st, p, url = b.submit(p, url, self.form_with(p, 'cardNo'), {'cardNo': card},
                              expect='password')
        st, p, url = b.submit(p, url, self.form_with(p, 'password'), {'password': '123456'},
                              expect='sms')
        st, p, url = b.submit(p, url, self.form_with(p, 'smsCode'),
                              {'smsCode': self.bank_sms(phone)}, expect='confirm')
        st, p, url = b.submit(p, url, p.forms[0] if len(p.forms) == 1 else
                              self.form_action(p, '/b2c/confirm'), expect='result')
        expect_eq(p.ids.get('status', {}).get('data-status'), 'paid', 'the bank\'s #status')
        return p

    @staticmethod
    def form_with(p, field):
        for f in p.forms:
            if field in f['fields']:
                return f
        raise Failure(f'page {p.data_page}: no form with {field}')

    @staticmethod
    def form_action(p, action):
        for f in p.forms:
            if f['action'].endswith(action):
                return f
        raise Failure(f'page {p.data_page}: no form posting to {action}')

    # -- the test clock (docs/http.md, "The test clock")
    def advance(self, ms):
        body = json.dumps({'advance_ms': ms}).encode()
        status, hdrs, data, _ = raw_request(self.base, 'POST', '/sandbox/clock', body,
                                            {'Content-Type': 'application/json'})
        expect_eq(status, 200, f'POST /sandbox/clock: {data[:200]!r}')
        moves = json.loads(data)['moves']
        deadline = time.monotonic() + WAIT_S
        while True:  # every worker has looked at the new time: the event to wait for
            status, _, data, _ = raw_request(self.base, 'GET', '/sandbox/clock')
            c = json.loads(data)
            if all(w['seen_moves'] >= moves for w in c['workers']):
                return c
            check(time.monotonic() < deadline, f'workers did not see move {moves}: {c}')
            time.sleep(0.05)

    def wait_trade(self, trade_id, pred, what):
        """Polls the query until pred holds (the query fallback of integration.md §7)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            t = self.query(trade_id, what)
            if pred(t):
                return t
            check(time.monotonic() < deadline, f'{what}: not reached within {WAIT_S} s: {t}')
            time.sleep(0.1)

    # -- notifications as the docs describe them (api.md, "Notifications to the merchant")
    def notification(self, t, event, what, pred=lambda r: True):
        r = self.notes.wait(lambda r: r['payload']['trade']['trade_id'] == t['trade_id']
                            and r['payload']['event'] == event and r['answer'] == 200
                            and pred(r), what)
        expect_eq(r['target'], '/notify?shop=tea', f'{what}: request target')
        ct = (r['content_type'] or '').split(';')[0].strip()
        expect_eq(ct, 'application/json', f'{what}: Content-Type')
        payload = r['payload']
        compact = json.dumps(payload, sort_keys=True, separators=(',', ':'),
                             ensure_ascii=False).encode()
        expect_eq(r['body'], compact, f'{what}: the body is JSON with keys sorted, compact')
        check(re.fullmatch(r'nt_[0-9A-Z]{26}', payload['notify_id']),
              f'{what}: notify_id {payload["notify_id"]}')
        want = {'event', 'notify_id', 'trade'} | ({'refund_id'} if event.startswith('refund')
                                                  else set())
        expect_eq(set(payload), want, f'{what}: the notification\'s members')
        check_trade(payload['trade'], what)
        return payload

    def trade_page(self):
        """A page trade paid from the wallet, queried, refunded in part (and the retry of that
        refund), then in full; its notifications."""
        t, body = self.create('A', '12.30')
        a = self.api.post('/v1/trades', body, f'create-{t["out_trade_no"]}')
        expect_eq((a.status, a.body), (201, self._first_create_body[t['trade_id']]),
                  'the replayed create answers the first answer\'s bytes')
        expect_eq(a.header('Idempotent-Replayed'), 'true', 'Idempotent-Replayed')
        spaced = json.dumps(json.loads(body)).encode()  # the same JSON, other spacing
        expect_answer(self.api.post('/v1/trades', spaced, f'create-{t["out_trade_no"]}'), 422,
                      'IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key', 'the same key, other bytes')
        expect_answer(self.api.post('/v1/trades', body, f'create-{t["out_trade_no"]}-again'),
                      409, 'DUPLICATE', 'out_trade_no', 'the same out_trade_no, another key')
        self.step('page trade created; the retry replays it byte for byte; other bytes 422, '
                  'the same out_trade_no 409')
        q = self.query(t['trade_id'], 'query by id')
        expect_eq(q, t, 'the query answers the trade as created')
        a = self.api.get(f'/v1/trades?out_trade_no={t["out_trade_no"]}')
        expect_eq(expect_answer(a, 200, what='query by out_trade_no'), t, 'query by out_trade_no')
        self.pay_wallet(t)
        paid = self.query(t['trade_id'], 'paid trade')
        check_trade(paid, 'paid', 'TRADE_SUCCESS')
        expect_eq(paid['pay_method'], 'wallet', 'pay_method')
        fee = fee_of('12.30')
        expect_eq(paid['fee'], money(str(fee)), 'fee at payment')
        check(paid['paid_at'] is not None, 'paid_at set')
        n = self.notification(t, 'trade.state', 'the payment\'s notification')
        expect_eq(n['trade'], paid, 'the notification carries the trade as queried')
        self.available += Decimal('12.30') - fee
        self.fees += fee
        self.step('paid on the cashier (wallet); query and signed notification agree')

        # a partial refund; its retry (same key, same bytes) moves no money again
        rbody = json.dumps({'out_refund_no': 'r1', 'amount': money('2.30'),
                            'reason': 'damaged'}).encode()
        target = f'/v1/trades/{t["trade_id"]}/refunds'
        a = self.api.post(target, rbody, f'refund-{t["out_trade_no"]}-1')
        r1 = expect_answer(a, 201, what='partial refund')
        expect_eq(set(r1), {'refund_id', 'trade_id', 'out_refund_no', 'amount', 'fee_refunded',
                            'reason', 'status', 'created_at'}, 'the refund object')
        share = (fee * Decimal('2.30') / Decimal('12.30')).quantize(MINOR, rounding='ROUND_DOWN')
        expect_eq((r1['amount'], r1['fee_refunded'], r1['status']),
                  (money('2.30'), money(str(share)), 'SUCCESS'), 'the partial refund')
        again = self.api.post(target, rbody, f'refund-{t["out_trade_no"]}-1')
        expect_eq((again.status, again.body), (a.status, a.body), 'the refund replayed')
        expect_eq(again.header('Idempotent-Replayed'), 'true', 'the refund replayed header')
        same = self.api.post(target, rbody, f'refund-{t["out_trade_no"]}-1b')
        expect_eq(expect_answer(same, 201, what='same out_refund_no, new key'), r1,
                  'the same out_refund_no and amount answers the first refund')
        other = json.dumps({'out_refund_no': 'r1', 'amount': money('1.00')}).encode()
        expect_answer(self.api.post(target, other, f'refund-{t["out_trade_no"]}-1c'), 409,
                      'DUPLICATE', 'out_refund_no', 'the same out_refund_no, another amount')
        after = self.query(t['trade_id'], 'after the partial refund')
        expect_eq(after['refunded'], money('2.30'), 'refunded once, not three times')
        self.available -= Decimal('2.30') - share
        self.fees -= share
        self.notification(t, 'refund', 'the partial refund\'s notification',
                          lambda r: r['payload']['refund_id'] == r1['refund_id'])
        a = self.api.get(f'{target}?out_refund_no=r1')
        expect_eq(expect_answer(a, 200, what='refund by out_refund_no'), r1, 'refund query')
        a = self.api.get(f'{target}/{r1["refund_id"]}')
        expect_eq(expect_answer(a, 200, what='refund by id'), r1, 'refund query by id')
        expect_answer(self.api.get(f'{target}?out_refund_no=r9'), 404, 'REFUND_NOT_FOUND',
                      'out_refund_no', 'an unknown refund')
        too_much = json.dumps({'out_refund_no': 'r2', 'amount': money('10.01')}).encode()
        expect_answer(self.api.post(target, too_much, f'refund-{t["out_trade_no"]}-2'), 409,
                      'REFUND_EXCEEDS_PAID', 'amount.value', 'more than is left')
        usd = json.dumps({'out_refund_no': 'r3', 'amount': money('1.00', 'USD')}).encode()
        expect_answer(self.api.post(target, usd, f'refund-{t["out_trade_no"]}-3'), 400,
                      'CURRENCY_MISMATCH', 'amount.currency', 'a refund in another currency')
        self.step('partial refund: replayed byte for byte, moved once; its errors as documented')

        rest = json.dumps({'out_refund_no': 'r4', 'amount': money('10.00')}).encode()
        r4 = expect_answer(self.api.post(target, rest, f'refund-{t["out_trade_no"]}-4'), 201,
                           what='the rest refunded')
        expect_eq(r4['fee_refunded'], money(str(fee - share)), 'the last refund returns the rest '
                  'of the fee')
        self.available -= Decimal('10.00') - (fee - share)
        self.fees -= fee - share
        closed = self.query(t['trade_id'], 'fully refunded')
        check_trade(closed, 'fully refunded', 'TRADE_CLOSED')
        expect_eq((closed['close_reason'], closed['refunded']), ('refunded', money('12.30')),
                  'a fully refunded trade')
        self.notification(t, 'refund', 'the last refund\'s notification',
                          lambda r: r['payload']['refund_id'] == r4['refund_id'])
        self.notification(t, 'trade.state', 'the close by refund\'s notification',
                          lambda r: r['payload']['trade']['state'] == 'TRADE_CLOSED')
        self.step('refunded in full: TRADE_CLOSED (refunded), fee returned, both notified')
        return t

    def refund(self, t, body, suffix=''):
        return self.api.post(f'/v1/trades/{t["trade_id"]}/refunds', body,
                             f'refund-{t["out_trade_no"]}{suffix}')

    def trade_close(self):
        t, _ = self.create('B', '5.00')
        a = self.api.post(f'/v1/trades/{t["trade_id"]}/close', b'', f'close-{t["out_trade_no"]}')
        c = check_trade(expect_answer(a, 200, what='close'), 'closed', 'TRADE_CLOSED')
        expect_eq(c['close_reason'], 'closed', 'close_reason')
        check(c['closed_at'] is not None, 'closed_at set')
        n = self.notification(t, 'trade.state', 'the close\'s notification')
        expect_eq(n['trade'], c, 'the close notified as answered')
        a = self.api.post(f'/v1/trades/{t["trade_id"]}/close', b'{}', f'close2-{t["out_trade_no"]}')
        expect_answer(a, 409, 'TRADE_STATE_INVALID', 'trade_id', 'closing a closed trade')
        st, p, _ = Browser().open('GET', t['cashier_url'])
        expect_eq(p.data_page, 'cashier-closed', 'the cashier of a closed trade')
        refund = json.dumps({'out_refund_no': 'x', 'amount': money('1.00')}).encode()
        a = self.refund(t, refund)
        expect_answer(a, 409, 'TRADE_STATE_INVALID', 'trade_id', 'refunding an unpaid trade')
        self.step('an unpaid trade closed (notified); closing again and refunding it: 409')

    def trade_qr(self):
        t, _ = self.create('C', '3.10', product='qr')
        self.pay_qr(t)
        paid = check_trade(self.query(t['trade_id'], 'qr paid'), 'qr paid', 'TRADE_SUCCESS')
        expect_eq(paid['pay_method'], 'qr', 'pay_method of a QR payment')
        self.notification(t, 'trade.state', 'the QR payment\'s notification')
        fee = fee_of('3.10')
        expect_eq(paid['fee'], money(str(fee)), 'fee')
        self.available += Decimal('3.10') - fee
        self.fees += fee
        self.step('qr trade paid on the mobile page (qr_url), notified')

    def trade_mobile_page(self):
        t, _ = self.create('M', '1.99', product='mobile_page')
        self.pay_wallet(t)
        paid = check_trade(self.query(t['trade_id'], 'mobile_page paid'), 'mobile', 'TRADE_SUCCESS')
        self.notification(t, 'trade.state', 'the mobile_page payment\'s notification')
        fee = fee_of('1.99')
        expect_eq(paid['fee'], money(str(fee)), 'fee')
        self.available += Decimal('1.99') - fee
        self.fees += fee
        self.step('mobile_page trade paid on the cashier, notified')

    def trade_bank(self):
        t, _ = self.create('D', '123.00')
        self.pay_bank(t)
        paid = self.wait_trade(t['trade_id'], lambda x: x['state'] == 'TRADE_SUCCESS',
                               'the bank payment')
        expect_eq(paid['pay_method'], 'bank', 'pay_method of online banking')
        self.notification(t, 'trade.state', 'the bank payment\'s notification')
        fee = fee_of('123.00')
        expect_eq(paid['fee'], money(str(fee)), 'fee')
        self.available += Decimal('123.00') - fee
        self.fees += fee
        self.step('online banking at the sandbox bank: B2C form, card, password, SMS, confirm; '
                  'paid and notified')
        body = json.dumps({'out_refund_no': 'b1', 'amount': money('23.00')}).encode()
        a = self.refund(t, body)
        r = expect_answer(a, 201, what='refund of a bank payment')
        check(r['status'] in ('PROCESSING', 'SUCCESS'), f'refund status {r["status"]}')
        share = (fee * 23 / 123).quantize(MINOR, rounding='ROUND_DOWN')
        expect_eq(r['fee_refunded'], money(str(share)), 'fee share')
        self.available -= Decimal('23.00') - share
        self.fees -= share
        self.notification(t, 'refund.success', 'the bank\'s confirmed refund',
                          lambda n: n['payload']['refund_id'] == r['refund_id'])
        a = self.api.get(f'/v1/trades/{t["trade_id"]}/refunds/{r["refund_id"]}')
        expect_eq(expect_answer(a, 200, what='bank refund')['status'], 'SUCCESS',
                  'the refund after the bank confirmed it')
        self.step('a bank payment refunded in part: PROCESSING, then refund.success')

    def trade_escrow(self):
        t, _ = self.create('E', '40.00', product='escrow')
        self.pay_wallet(t, 'WAIT_SELLER_SEND_GOODS')
        paid = check_trade(self.query(t['trade_id'], 'escrow paid'), 'escrow paid',
                           'WAIT_SELLER_SEND_GOODS')
        expect_eq(paid['fee'], money('0.00'), 'an escrow trade\'s fee while held')
        check(paid['ship_by'] is not None, 'ship_by set')
        self.notification(t, 'trade.state', 'escrow paid',
                          lambda r: r['payload']['trade']['state'] == 'WAIT_SELLER_SEND_GOODS')
        self.in_escrow += Decimal('40.00')
        self.check_balance('with 40.00 in escrow')
        ship = {'logistics_company': 'SF Express', 'tracking_no': 'SF1234567890'}
        a = self.api.post(f'/v1/trades/{t["trade_id"]}/ship', ship, f'ship-{t["out_trade_no"]}')
        s = check_trade(expect_answer(a, 200, what='ship'), 'shipped', 'WAIT_BUYER_CONFIRM_GOODS')
        expect_eq((s['logistics_company'], s['tracking_no']), ('SF Express', 'SF1234567890'),
                  'the shipment')
        check(s['confirm_by'] is not None and s['shipped_at'] is not None, 'confirm_by, shipped_at')
        a = self.api.post(f'/v1/trades/{t["trade_id"]}/ship', ship, f'ship2-{t["out_trade_no"]}')
        expect_answer(a, 409, 'TRADE_STATE_INVALID', 'trade_id', 'shipping twice')
        self.notification(t, 'trade.state', 'escrow shipped',
                          lambda r: r['payload']['trade']['state'] == 'WAIT_BUYER_CONFIRM_GOODS')
        # the default confirmation time is 10 days (api.md); move the test clock past it
        self.advance(10 * 86400 * 1000 + 60000)
        done = self.wait_trade(t['trade_id'], lambda x: x['state'] == 'TRADE_FINISHED',
                               'escrow confirmed by the clock')
        fee = fee_of('40.00')
        expect_eq(done['fee'], money(str(fee)), 'the fee taken at release')
        self.notification(t, 'trade.state', 'escrow finished',
                          lambda r: r['payload']['trade']['state'] == 'TRADE_FINISHED')
        self.in_escrow -= Decimal('40.00')
        self.available += Decimal('40.00') - fee
        self.fees += fee
        refund = json.dumps({'out_refund_no': 'e1', 'amount': money('1.00')}).encode()
        a = self.refund(t, refund)
        expect_answer(a, 409, 'TRADE_STATE_INVALID', 'trade_id', 'refunding a finished trade')
        self.step('escrow: paid into escrow, shipped, confirmed by the clock 10 days on, '
                  'released less its fee; no refund after')

    def sign_agreement(self, merchant_id):
        """integration.md §10: the wallet's #agreement-form gives the consumer's ag_… number."""
        b = Browser()
        st, p, url = self.login(b, f'{self.base}/wallet', 'wallet-login', 'wallet')
        st, p, url = b.submit(p, url, p.form('agreement-form'),
                              {'merchant_id': merchant_id, 'pay_password': self.args.pay_password},
                              expect='wallet')
        expect_eq(p.ids.get('notice', {}).get('data-notice'), 'agreement-signed', '#notice')
        ag = p.text.get('agreement-no', '').strip()
        check(re.fullmatch(r'ag_[0-9A-Z]{26}', ag), f'#agreement-no {ag!r}')
        return ag

    def bank_direct(self):
        """integration.md §8 and docs/bank.md: the merchant's own contract with the bank — the
        signed B2C form, the bank's pages, its signed notification, and its signed
        server-to-server API (query, refunds) with the contract's RSA key."""
        d = self.args.bank_merchant_dir
        with open(os.path.join(d, 'merchant.json'), encoding='utf-8') as f:
            contract = json.load(f)
        with open(os.path.join(d, 'merchant.crt'), 'rb') as f:
            cert_pem = f.read()
        mkey = Key.load(os.path.join(d, 'merchant.key'), contract['merID'])
        # the bank's signing certificate, issued by its CA, CN = the bank's code
        st, _, ca_pem, _ = raw_request(self.bank, 'GET', '/ca.pem')
        st2, _, bank_pem, _ = raw_request(self.bank, 'GET', '/b2c/bank-cert.pem')
        expect_eq((st, st2), (200, 200), 'the bank\'s CA and signing certificate')
        ca = x509.load_pem_x509_certificate(ca_pem)
        cert = x509.load_pem_x509_certificate(bank_pem)
        cert.verify_directly_issued_by(ca)
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        expect_eq(cn, contract['bankCode'], 'the bank certificate\'s CN')
        self.notes.bank_cert = cert
        bank_api = Platform(self.bank, mkey, PlatformKey(cn, cert.public_key()))

        order_id = self.otn('B2C')
        doc = json.dumps({
            'interfaceName': 'PAYGATE_B2C_PAY', 'interfaceVersion': '1.0', 'orderId': order_id,
            'orderDate': time.strftime('%Y%m%d%H%M%S', time.gmtime()), 'amount': 4560,
            'currency': 'CNY', 'merID': contract['merID'], 'merAcct': contract['merAcct'],
            'merURL': f'http://127.0.0.1:{self.notes.port}/banknotify', 'notifyType': 'HS',
            'resultType': '0', 'merVAR': 'tea-7', 'goodsName': 'Tea',
            'returnURL': 'http://127.0.0.1:9/done'}, ensure_ascii=False).encode()
        form = {'interfaceName': 'PAYGATE_B2C_PAY', 'interfaceVersion': '1.0',
                'tranData': base64.b64encode(doc).decode(),
                'merSignMsg': base64.b64encode(mkey.sign(doc)).decode(),
                'merCert': base64.b64encode(cert_pem).decode()}
        b = Browser()
        st, p, url = b.open('POST', f'{self.bank}/b2c/pay', form,
                            referer=f'http://127.0.0.1:{self.notes.port}/checkout')
        expect_eq((st, p.data_page), (200, 'card'), f'the signed B2C form: {p.text.get("code")}')
        p = self.bank_pages(b, p, url, '45.60')
        expect_eq(p.ids.get('notify', {}).get('data-status'), 'DELIVERED',
                  'the result page says the merchant was notified')
        n = self.notes.wait_bank(lambda x: x['orderId'] == order_id, 'of the B2C payment')
        expect_eq(set(n['data']), {'merID', 'orderId', 'amount', 'currency', 'tranSerialNo',
                                   'tranStatus', 'tranTime', 'merVAR', 'notifyId'},
                  'the notifyData fields')
        expect_eq((n['data']['amount'], n['data']['tranStatus'], n['data']['merVAR'],
                   n['merVAR']), (4560, 'SUCCESS', 'tea-7', 'tea-7'), 'the bank notification')
        self.step('direct at the bank: signed B2C form, card pages, notification verified with '
                  'the bank\'s certificate (issued by its CA)')

        q = json.dumps({'orderId': order_id}).encode()
        a = bank_api.post('/api/v1/orders/query', q, None)
        o = expect_answer(a, 200, what='the bank\'s order query')
        expect_eq((o['status'], o['amount'], o['refundedAmount'], o['channel'],
                   o['notify']['status'], o['notify']['notifyId']),
                  ('PAID', 4560, 0, 'b2c', 'DELIVERED', n['data']['notifyId']), 'the order')
        expect_eq(o['tranSerialNo'], n['data']['tranSerialNo'], 'the order\'s tranSerialNo')
        r = json.dumps({'orderId': order_id, 'refundId': 'r-1', 'amount': 560}).encode()
        first = bank_api.post('/api/v1/refunds', r, None)
        rf = expect_answer(first, 200, what='a bank refund')
        expect_eq((rf['amount'], rf['status'], rf['refundedAmount']), (560, 'SUCCESS', 560),
                  'the bank refund')
        again = bank_api.post('/api/v1/refunds', r, None)
        expect_eq((again.status, again.body), (200, first.body), 'the refund replayed')
        other = json.dumps({'orderId': order_id, 'refundId': 'r-1', 'amount': 561}).encode()
        self.error(bank_api.post('/api/v1/refunds', other, None), 422, 'IDEMPOTENCY_KEY_REUSED',
                   'refundId', 'the same refundId, another amount')
        big = json.dumps({'orderId': order_id, 'refundId': 'r-2', 'amount': 4001}).encode()
        self.error(bank_api.post('/api/v1/refunds', big, None), 409, 'REFUND_EXCEEDS', 'amount',
                   'more than is left at the bank')
        dec = b'{"orderId":"' + order_id.encode() + b'","refundId":"r-3","amount":5.60}'
        self.error(bank_api.post('/api/v1/refunds', dec, None), 400, 'AMOUNT_INVALID', 'amount',
                   'a decimal amount at the bank')
        self.error(bank_api.post('/api/v1/orders/query', b'{"orderId":"nope"}', None), 404,
                   'NOT_FOUND', 'orderId', 'an unknown order at the bank')
        o = expect_answer(bank_api.post('/api/v1/orders/query', q, None), 200)
        expect_eq((o['status'], o['refundedAmount']), ('PAID', 560), 'refunded once')
        self.step('the bank\'s signed API (RSA both ways): query, refund, its replay and errors')

    def trade_agreement(self):
        """api.md, product agreement: paid from the wallet at once, no cashier."""
        ag = self.sign_agreement(self.args.merchant)
        otn = self.otn('G')
        payload = {'out_trade_no': otn, 'amount': money('8.80'), 'subject': 'Tea G',
                   'notify_url': self.notes.url(), 'product': 'agreement', 'agreement_no': ag}
        self.notes.orders[otn] = ('8.80', 'CNY')
        a = self.api.post('/v1/trades', payload, f'create-{otn}')
        t = check_trade(expect_answer(a, 201, what='agreement debit'), 'agreement debit',
                        'TRADE_SUCCESS')
        expect_eq((t['product'], t['pay_method']), ('agreement', 'agreement'),
                  'an agreement debit')
        fee = fee_of('8.80')
        expect_eq(t['fee'], money(str(fee)), 'fee')
        self.available += Decimal('8.80') - fee
        self.fees += fee
        self.notification(t, 'trade.state', 'the agreement debit\'s notification')
        r = expect_answer(self.refund(t, {'out_refund_no': 'g1', 'amount': money('0.80')}), 201,
                          what='refund of an agreement debit')
        expect_eq(r['status'], 'SUCCESS', 'a wallet refund is SUCCESS at once')
        share = (fee * Decimal('0.80') / Decimal('8.80')).quantize(MINOR, rounding='ROUND_DOWN')
        self.available -= Decimal('0.80') - share
        self.fees -= share
        theirs = {'out_trade_no': self.otn('G2'), 'amount': money('1.00'), 'subject': 'Cup',
                  'product': 'agreement', 'agreement_no': ag}
        self.error(self.other.post('/v1/trades', theirs, f'create-{self.otn("G2")}'), 403,
                   'AGREEMENT_INVALID', 'agreement_no', 'another merchant\'s agreement')
        self.step('agreement signed in the wallet (documented form), debited server to server, '
                  'refunded; another merchant cannot use it')

    def trade_expired(self):
        """A trade with timeout 1m closes as expired once the test clock passes expires_at."""
        t, _ = self.create('X', '2.00', extra={'timeout': '1m'})
        expect_eq(iso_ms(t['expires_at']) - iso_ms(t['created_at']), 60000, 'timeout 1m')
        self.advance(61000)
        x = self.wait_trade(t['trade_id'], lambda q: q['state'] == 'TRADE_CLOSED', 'expiry')
        expect_eq(x['close_reason'], 'expired', 'close_reason of an expired trade')
        self.notification(t, 'trade.state', 'the expiry\'s notification')
        st, p, _ = Browser().open('GET', t['cashier_url'])
        expect_eq(p.data_page, 'cashier-closed', 'the cashier of an expired trade')
        self.step('a 1m trade expired when the test clock passed expires_at: closed, notified')

    def concurrent_replays(self):
        """api.md, "Idempotency": the same key and bytes sent at once are applied once; every
        other answer is the first one replayed."""
        t, _ = self.create('R', '6.00')
        self.pay_wallet(t)
        fee = fee_of('6.00')
        self.available += Decimal('6.00') - fee
        self.fees += fee
        self.notification(t, 'trade.state', 'R paid')
        before = self.check_balance('before the parallel refunds')
        body = json.dumps({'out_refund_no': 'p1', 'amount': money('1.50')}).encode()
        answers = [None] * 8

        def send(i):
            try:
                answers[i] = self.refund(t, body, '-parallel')
            except Exception as e:  # noqa: BLE001 - reported below
                answers[i] = e

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(answers))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for a in answers:
            check(isinstance(a, Answer), f'a parallel refund failed: {a}')
        first = [a for a in answers if a.header('Idempotent-Replayed') != 'true']
        expect_eq(len(first), 1, 'answers not replayed among 8 identical refunds')
        for a in answers:
            expect_eq((a.status, a.body), (201, first[0].body), 'every answer is the first one')
        share = (fee * Decimal('1.50') / Decimal('6.00')).quantize(MINOR, rounding='ROUND_DOWN')
        self.available -= Decimal('1.50') - share
        self.fees -= share
        after = self.check_balance('after 8 identical refunds')
        expect_eq(Decimal(before['available']['value']) - Decimal(after['available']['value']),
                  Decimal('1.50') - share, 'the money moved once')
        expect_eq(self.query(t['trade_id'], 'R')['refunded'], money('1.50'), 'refunded once')
        self.step('8 identical refunds at once: one applied, 7 replayed byte for byte, '
                  'the balance moved once')

    def forged_notification(self):
        """Our handler refuses what the platform did not sign (integration.md §6, step 1)."""
        body = b'{"event":"trade.state","notify_id":"nt_X","trade":{}}'
        for sig in (None, 'PAYGATE-ED25519 keyId="paygate-platform", ts="1", '
                          'nonce="aaaaaaaaaaaaaaaa", sig="AAAA"'):
            headers = {'Content-Type': 'application/json'}
            if sig:
                headers['Paygate-Signature'] = sig
            status, _, data, _ = raw_request(f'http://127.0.0.1:{self.notes.port}', 'POST',
                                             '/notify?shop=tea', body, headers)
            expect_eq((status, data), (400, b'refused'), 'a forged notification')
        with self.notes.cond:
            expect_eq(len(self.notes.problems), 2, 'both forgeries refused')
            self.notes.problems.clear()
            self.notes.received = [r for r in self.notes.received if r['answer'] != 400]
        self.step('our notify handler refuses an unsigned and a badly signed notification')

    def notify_retry(self):
        """A wrong answer once: retried after 4m (api.md) with the same notify_id, signed anew."""
        t, _ = self.create('F', '7.77')
        self.notes.fail_once.add(t['out_trade_no'])
        self.pay_wallet(t)
        fee = fee_of('7.77')
        self.available += Decimal('7.77') - fee
        self.fees += fee
        first = self.notes.wait(lambda r: r['payload']['trade']['trade_id'] == t['trade_id']
                                and r['answer'] == 500, 'the first attempt (answered 500)')
        nid = first['payload']['notify_id']
        deadline = time.monotonic() + WAIT_S
        while True:  # the attempt is recorded after our answer: wait for that
            a = self.api.get(f'/v1/notifications?trade_id={t["trade_id"]}')
            ns = expect_answer(a, 200, what='notifications')['notifications']
            n = [x for x in ns if x['notify_id'] == nid]
            if n and n[0]['attempts'] >= 1:
                break
            check(time.monotonic() < deadline, f'the failed attempt is not listed: {ns}')
            time.sleep(0.1)
        n = n[0]
        expect_eq((n['status'], n['attempts'], n['delivered_at']), ('pending', 1, None),
                  'after a wrong answer')
        expect_eq(n['attempt_log'][0]['http_status'], 500, 'the attempt\'s http_status')
        expect_eq(n['attempt_log'][0]['result'], 'answer was not "success"',
                  'the attempt\'s result')
        expect_eq(n['payload'], first['payload'], 'the listed payload is what was POSTed')
        check(n['next_attempt_at'] is not None, 'next_attempt_at while pending')
        check(not self.notes.of(t['trade_id'], 'trade.state')[1:], 'no retry before time moves')
        self.advance(4 * 60 * 1000 - 1000)
        check(len(self.notes.of(t['trade_id'])) == 1, 'retried before 4 minutes')
        self.advance(2000)
        second = self.notes.wait(lambda r: r['payload']['trade']['trade_id'] == t['trade_id']
                                 and r['answer'] == 200, 'the retry after 4m')
        expect_eq(second['payload']['notify_id'], nid, 'the retry\'s notify_id')
        expect_eq(second['body'], first['body'], 'the retry\'s body')
        check(second['nonce'] != first['nonce'], 'the retry is signed afresh')
        deadline = time.monotonic() + WAIT_S
        while True:
            a = self.api.get(f'/v1/notifications?trade_id={t["trade_id"]}')
            n = [x for x in expect_answer(a, 200)['notifications'] if x['notify_id'] == nid][0]
            if n['status'] == 'delivered':
                break
            check(time.monotonic() < deadline, f'not delivered: {n}')
            time.sleep(0.1)
        expect_eq((n['attempts'], n['next_attempt_at']), (2, None), 'delivered at the retry')
        self.step('a notification answered 500 once: listed pending, retried after 4 minutes of '
                  'the test clock (not before) with the same notify_id, signed afresh')

    # -- errors (api.md, "Conventions"; docs/errors.md; docs/protocol.md)
    def error(self, a, status, code, field, what):
        expect_eq(self.errors.get(code), status, f'{what}: errors.md\'s status of {code}')
        if os.environ.get('MC_COLLECT'):  # a developer's aid: list every mismatch, then fail
            try:
                return expect_answer(a, status, code, field, what)
            except Failure as e:
                print(f'MISMATCH {e}: {a.body[:300]!r}')
                self.mismatches = getattr(self, 'mismatches', 0) + 1
                return None
        return expect_answer(a, status, code, field, what)

    def errors_signature(self):
        """protocol.md, "Verification and replay rules": all 401, naming Authorization."""
        body = json.dumps({'out_trade_no': self.otn('sig'), 'amount': money('1.00'),
                           'subject': 'Tea'}).encode()
        header, nonce = authorization(self.key, 'POST', '/v1/trades', body)
        bad = header[:-3] + ('A' if header[-3] != 'A' else 'B') + header[-2:]
        st, h, d, _ = raw_request(self.base, 'POST', '/v1/trades', body, {
            'Authorization': bad, 'Content-Type': 'application/json',
            'Idempotency-Key': f'err-{self.run_id}-sig'})
        self.api.verify(st, h, d, nonce)
        self.error(Answer(st, h, d, nonce), 401, 'SIGNATURE_INVALID', 'Authorization',
                   'a bad signature')
        header, nonce = authorization(self.key, 'POST', '/v1/trades', body)
        st, h, d, _ = raw_request(self.base, 'POST', '/v1/trades', body + b' ', {
            'Authorization': header, 'Content-Type': 'application/json',
            'Idempotency-Key': f'err-{self.run_id}-sig2'})
        self.api.verify(st, h, d, nonce)
        self.error(Answer(st, h, d, nonce), 401, 'SIGNATURE_INVALID', 'Authorization',
                   'a body changed after signing')
        a = self.api.send('GET', '/v1/balance', auth=False)
        self.error(a, 401, 'SIGNATURE_MISSING', 'Authorization', 'no Authorization')
        st, h, d, _ = raw_request(self.base, 'GET', '/v1/balance', b'',
                                  {'Authorization': 'PAYGATE-ED25519 keyId=tea'})
        self.api.verify(st, h, d, '')  # no readable header: an empty REQUEST_NONCE
        self.error(Answer(st, h, d, ''), 401, 'SIGNATURE_MALFORMED', 'Authorization',
                   'a malformed header')
        for ts, what in ((unix_seconds() - 400, 'a timestamp 400 s old'),
                         (unix_seconds() * 1000, 'a timestamp in milliseconds')):
            header, nonce = authorization(self.key, 'GET', '/v1/balance', b'', ts=ts)
            st, h, d, _ = raw_request(self.base, 'GET', '/v1/balance', b'',
                                      {'Authorization': header})
            self.api.verify(st, h, d, nonce)
            self.error(Answer(st, h, d, nonce), 401, 'TIMESTAMP_STALE', 'Authorization', what)
        header, nonce = authorization(self.key, 'GET', '/v1/balance', b'')
        st, h, d, _ = raw_request(self.base, 'GET', '/v1/balance', b'', {'Authorization': header})
        expect_eq(st, 200, 'a signed GET /v1/balance')
        st, h, d, _ = raw_request(self.base, 'GET', '/v1/balance', b'', {'Authorization': header})
        self.api.verify(st, h, d, nonce)
        self.error(Answer(st, h, d, nonce), 401, 'NONCE_REPLAYED', 'Authorization', 'a nonce again')
        other_alg = Key(ed25519.Ed25519PrivateKey.generate(), self.args.other_merchant)
        a = self.api.get('/v1/balance', key=other_alg)
        self.error(a, 401, 'SIGNATURE_INVALID', 'Authorization',
                   'an Ed25519 signature for an RSA merchant')
        a = self.api.get('/v1/balance', key=Key(ed25519.Ed25519PrivateKey.generate(), 'nobody'))
        self.error(a, 401, 'SIGNATURE_INVALID', 'Authorization', 'an unknown keyId')
        self.step('signature errors: invalid, body changed, missing, malformed, stale, '
                  'milliseconds, replayed nonce, wrong algorithm, unknown key: 401, signed')

    def errors_fields(self):
        """api.md, "POST /v1/trades" and "Conventions"; docs/money.md, "Parsing"."""
        ok = {'out_trade_no': self.otn('err'), 'amount': money('1.00'), 'subject': 'Tea'}
        body = json.dumps(ok).encode()
        n = [0]

        def post(payload, **kw):
            n[0] += 1
            b = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            return self.api.post('/v1/trades', b, f'err-{self.run_id}-{n[0]}', **kw)

        def with_(**kw):
            d = dict(ok)
            d.update(kw)
            return d

        self.error(post(with_(notify_ur1='http://127.0.0.1/')), 400, 'FIELD_INVALID', 'notify_ur1',
                   'an unknown field')
        self.error(post(with_(amount={'value': '1.00', 'currency': 'CNY', 'x': 1})), 400,
                   'FIELD_INVALID', 'amount.x', 'an unknown field inside amount')
        d = dict(ok)
        del d['subject']
        self.error(post(d), 400, 'FIELD_MISSING', 'subject', 'a missing subject')
        d = dict(ok)
        del d['amount']
        self.error(post(d), 400, 'FIELD_MISSING', 'amount', 'a missing amount')
        self.error(post(with_(amount={'value': '1.00'})), 400, 'FIELD_MISSING', 'amount.currency',
                   'a missing currency')
        self.error(post(with_(subject='x' * 257)), 400, 'FIELD_TOO_LONG', 'subject',
                   'a subject of 257 bytes')
        self.error(post(with_(out_trade_no='o' * 65)), 400, 'FIELD_TOO_LONG', 'out_trade_no',
                   'an out_trade_no of 65')
        self.error(post(with_(amount=money('1.' + '0' * 31))), 400, 'FIELD_TOO_LONG',
                   'amount.value', 'an amount of 33 characters')
        for value in ('12.345', '1e3', '12,30', '+1.00', '.5', '1.', ' 1.00', '01', 'abc', ''):
            self.error(post(with_(amount=money(value))), 400, 'AMOUNT_INVALID', 'amount.value',
                       f'the amount {value!r}')
        for value in (12.3, 1230):
            self.error(post(with_(amount={'value': value, 'currency': 'CNY'})), 400,
                       'AMOUNT_INVALID', 'amount.value', f'the amount as a number {value}')
        self.error(post(with_(amount=money('0.00'))), 400, 'AMOUNT_NOT_POSITIVE', 'amount.value',
                   'a zero amount')
        # docs/money.md: API amounts are never negative, a sign is malformed
        self.error(post(with_(amount=money('-1.00'))), 400, 'AMOUNT_INVALID', 'amount.value',
                   'a negative amount')
        self.error(post(with_(amount=money('100000000000.01'))), 400, 'AMOUNT_TOO_LARGE',
                   'amount.value', 'more than 10^13 minor units')
        self.error(post(with_(amount=money('1.00', 'XXY'))), 400, 'CURRENCY_UNKNOWN',
                   'amount.currency', 'an unknown currency')
        self.error(post(with_(subject='tea\u0001')), 400, 'ENCODING_INVALID', 'subject',
                   'a control character')
        self.error(post(with_(timeout='30 m')), 400, 'FIELD_INVALID', 'timeout', 'a bad timeout')
        self.error(post(with_(timeout='16d')), 400, 'FIELD_INVALID', 'timeout', 'a timeout > 15d')
        self.error(post(with_(product='cod')), 400, 'FIELD_INVALID', 'product', 'a bad product')
        self.error(post(with_(out_trade_no='a b')), 400, 'FIELD_INVALID', 'out_trade_no',
                   'an out_trade_no with a space')
        self.error(post(with_(notify_url='http://evil.example/n')), 400, 'NOTIFY_URL_INVALID',
                   'notify_url', 'a notify_url on no registered host')
        self.error(post(with_(product='agreement', agreement_no='ag_00000000000000000000000000')),
                   403, 'AGREEMENT_INVALID', 'agreement_no', 'an unknown agreement')
        self.error(post(b'{"out_trade_no":'), 400, 'JSON_INVALID', None, 'a body that is not JSON')
        self.error(post(body, content_type='text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE',
                   'Content-Type', 'text/plain')
        self.error(post(body, content_type='application/x-www-form-urlencoded'), 415,
                   'UNSUPPORTED_MEDIA_TYPE', 'Content-Type', 'a form')
        self.error(post(body, content_type=None), 415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type',
                   'no Content-Type')
        a = post(body, content_type='application/json; charset=utf-8')
        expect_answer(a, 201, what='application/json; charset=utf-8')
        self.notes.orders[ok['out_trade_no']] = ('1.00', 'CNY')
        big = json.dumps(with_(out_trade_no=self.otn('big'), body='x' * 70000)).encode()
        self.error(post(big), 413, 'BODY_TOO_LARGE', None, 'a body over 64 KiB')
        self.error(self.api.post('/v1/trades', body, None), 400, 'FIELD_MISSING',
                   'Idempotency-Key', 'no Idempotency-Key')
        self.error(self.api.post('/v1/trades', body, 'a key with spaces'), 400, 'FIELD_INVALID',
                   'Idempotency-Key', 'a malformed Idempotency-Key')
        a = self.api.send('GET', '/v1/trades', extra={'X-Pad': 'x' * 9000})
        self.error(a, 431, 'HEADER_TOO_LARGE', None, 'headers over 8 KiB')
        self.step('request errors: unknown, missing, too long, bad amounts, currency, encoding, '
                  'JSON, content type, body and header size, Idempotency-Key: as errors.md says')

    def errors_lookup(self):
        """api.md, "Isolation": another merchant's trade is no trade; the server's 404, 405."""
        unknown = 'tr_' + '0' * 26
        self.error(self.api.get(f'/v1/trades/{unknown}'), 404, 'TRADE_NOT_FOUND', 'trade_id',
                   'an unknown trade')
        self.error(self.api.get('/v1/trades?out_trade_no=nope'), 404, 'TRADE_NOT_FOUND',
                   'out_trade_no', 'an unknown out_trade_no')
        mine = json.loads(self._first_create_body[next(iter(self._first_create_body))])
        theirs = self.other.get(f'/v1/trades/{mine["trade_id"]}')
        nobody = self.other.get(f'/v1/trades/{unknown}')
        self.error(theirs, 404, 'TRADE_NOT_FOUND', 'trade_id', 'another merchant\'s trade')
        expect_eq(theirs.json, nobody.json, 'another merchant\'s trade is like no trade')
        self.error(self.other.get(f'/v1/trades?out_trade_no={mine["out_trade_no"]}'), 404,
                   'TRADE_NOT_FOUND', 'out_trade_no', 'another merchant\'s out_trade_no')
        refund = json.dumps({'out_refund_no': 'steal', 'amount': money('1.00')}).encode()
        self.error(self.other.post(f'/v1/trades/{mine["trade_id"]}/refunds', refund, 'steal-1'),
                   404, 'TRADE_NOT_FOUND', 'trade_id', 'refunding another merchant\'s trade')
        self.error(self.other.post(f'/v1/trades/{mine["trade_id"]}/close', b'', 'steal-2'),
                   404, 'TRADE_NOT_FOUND', 'trade_id', 'closing another merchant\'s trade')
        a = self.other.get(f'/v1/notifications?trade_id={mine["trade_id"]}')
        check(a.status == 404, f'another merchant\'s notifications: {a.status} {a.body[:200]!r}')
        self.error(self.api.get('/v1/trade/x'), 404, 'NOT_FOUND', None, 'no such path')
        a = self.api.send('DELETE', '/v1/trades')
        self.error(a, 405, 'METHOD_NOT_ALLOWED', None, 'DELETE /v1/trades')
        check(a.header('Allow'), '405 has Allow')
        self.step('unknown and another merchant\'s (RSA-signed) trades are the same 404; '
                  '404 and 405 of the server signed')

    # -- money (api.md, "GET /v1/balance", "GET /v1/bills", "GET /v1/settlements")
    def check_balance(self, what):
        a = self.api.get('/v1/balance?currency=CNY')
        b = expect_answer(a, 200, what='balance')
        expect_eq(set(b), {'merchant_id', 'balances'}, 'the balance answer')
        expect_eq(b['merchant_id'], self.args.merchant, 'balance merchant_id')
        expect_eq(len(b['balances']), 1, 'one currency asked')
        got = b['balances'][0]
        want = {'currency': 'CNY', 'available': money(f'{self.available:.2f}'),
                'fees_charged': money(f'{self.fees:.2f}'),
                'in_escrow': money(f'{self.in_escrow:.2f}')}
        expect_eq(got, want, f'the balance {what}')
        return got

    def money_checks(self):
        self.check_balance('at the end')
        a = self.api.get('/v1/balance')
        expect_eq(expect_answer(a, 200, what='all balances')['balances'],
                  [self.check_balance('again')], 'the balance of every currency')
        self.error(self.api.get('/v1/balance?currency=cny'), 400, 'FIELD_INVALID', 'currency',
                   'a currency in lower case')
        other = expect_answer(self.other.get('/v1/balance?currency=CNY'), 200)['balances'][0]
        expect_eq(other['available'], money('0.00'), 'the other merchant earned nothing')
        # the bills of every day of the run add up to the available balance
        total = Decimal(0)
        rows = 0
        days = self.bill_days()
        for day in days:
            for kind in ('trade', 'settlement'):
                a = self.api.get(f'/v1/bills?date={day}&type={kind}')
                check(a.status == 200, f'bill {day} {kind}: {a.status} {a.body[:300]!r}')
                expect_eq(a.header('Content-Type'), 'text/csv; charset=utf-8', 'bill type')
                lines = a.body.decode('utf-8').split('\r\n')
                expect_eq(lines[0], 'time,type,trade_id,out_trade_no,reference,amount,currency',
                          'the bill\'s columns')
                check(lines[-1] == '', 'the bill ends with \\r\\n')
                tot = lines[-2].split(',')
                body = [ln.split(',') for ln in lines[1:-2]]
                expect_eq(tot[:2], ['TOTAL', str(len(body))], f'the bill total row {tot}')
                s = sum((Decimal(r[5]) for r in body), Decimal(0))
                expect_eq(Decimal(tot[5]), s, 'the bill total is the sum of its rows')
                total += s
                rows += len(body)
        expect_eq(total, self.available, f'the bills of {days} against the available balance')
        check(rows > 0, 'the bills have rows')
        self.error(self.api.get('/v1/bills?date=2026-13-01&type=trade'), 400, 'FIELD_INVALID',
                   'date', 'a bill of no date')
        self.error(self.api.get(f'/v1/bills?date={days[0]}'), 400, 'FIELD_MISSING', 'type',
                   'a bill without type')
        a = self.api.get('/v1/settlements')
        expect_answer(a, 200, what='settlements')
        self.step(f'money: balance available {self.available}, fees {self.fees}, escrow '
                  f'{self.in_escrow} as paid and refunded; {rows} bill rows over {len(days)} '
                  f'days add up to it')

    def settlement(self):
        """docs/settlement.md, with the other merchant (paid out T+1 to its bank account): a
        bank payment, part refunded; on the next business day from 10:00 Beijing time the
        payout of its whole balance reaches its account at the bank."""
        otn = self.otn('S')
        payload = {'out_trade_no': otn, 'amount': money('300.00'), 'subject': 'Cups',
                   'return_url': 'http://127.0.0.1:9/cups'}
        t = check_trade(expect_answer(self.other.post('/v1/trades', payload, f'c-{otn}'), 201,
                                      what='cup\'s trade'), 'cup\'s trade', 'WAIT_BUYER_PAY')
        self.pay_bank(t)
        self.wait_trade_of(self.other, t['trade_id'], 'TRADE_SUCCESS')
        refund = {'out_refund_no': 's1', 'amount': money('20.00')}
        r = expect_answer(self.other.post(f'/v1/trades/{t["trade_id"]}/refunds', refund,
                                          f'c-r-{otn}'), 201, what='cup\'s refund')
        fee = fee_of('300.00')
        due = Decimal('280.00') - (fee - Decimal(r['fee_refunded']['value']))
        # tea's balance, mostly wallet money, grows past what the platform's books hold at the
        # bank (its bank payments less refunds: 100.00 of tea's, 280.00 of cup's)
        w, _ = self.create('W', '500.00')
        self.pay_wallet(w)
        self.notification(w, 'trade.state', 'W paid')
        self.available += Decimal('500.00') - fee_of('500.00')
        self.fees += fee_of('500.00')
        tea_before = self.check_balance('before the payouts')
        now_ms = self.clock()['now_ms']
        local = now_ms // 1000 + 8 * 3600  # Asia/Shanghai, no daylight saving
        day = local - local % 86400
        while True:  # the next business day: not a Saturday or Sunday (no holidays configured)
            day += 86400
            if time.gmtime(day).tm_wday < 5:
                break
        self.advance((day + 10 * 3600 + 60 - 8 * 3600) * 1000 - now_ms)  # 10:01 that day
        business_date = time.strftime('%Y-%m-%d', time.gmtime(day))
        deadline = time.monotonic() + WAIT_S
        while True:  # the sweeper runs it and the bank answers: wait for that
            body = expect_answer(self.other.get('/v1/settlements'), 200, what='settlements')
            ours = body['settlements']
            if ours and all(x['status'] != 'pending' for x in ours):
                break
            check(time.monotonic() < deadline, f'no payout done on {business_date}: {body}')
            time.sleep(0.1)
        expect_eq(len(ours), 1, 'one payout')
        x = ours[0]
        want = {'settlement_id', 'business_date', 'amount', 'bank', 'to_account',
                'period_start', 'cutoff', 'reserved', 'status', 'created_at', 'done_at'}
        expect_eq(set(x), want, 'the settlement object')
        expect_eq((x['status'], x['bank'], x['to_account'], x['business_date'], x['amount']),
                  ('paid', 'icbc', self.args.settle_account, business_date,
                   money(f'{due:.2f}')), 'the payout')
        one = expect_answer(self.other.get(f'/v1/settlements/{x["settlement_id"]}'), 200)
        expect_eq({k: one[k] for k in want}, x, 'the settlement by id')
        b = expect_answer(self.other.get('/v1/balance?currency=CNY'), 200)['balances'][0]
        expect_eq(b['available'], money('0.00'), 'cup\'s balance after the payout')
        self.error(self.api.get(f'/v1/settlements/{x["settlement_id"]}'), 404,
                   'SETTLEMENT_NOT_FOUND', 'settlement_id', 'another merchant\'s settlement')
        self.error(self.other.get('/v1/settlements/st_' + '0' * 26), 404,
                   'SETTLEMENT_NOT_FOUND', 'settlement_id', 'an unknown settlement')
        a = self.other.get(f'/v1/bills?date={business_date}&type=settlement')
        lines = a.body.decode('utf-8').split('\r\n')
        expect_eq((a.status, lines[-2]), (200, f'TOTAL,1,,,,-{due:.2f},CNY'),
                  'the payout\'s bill')
        check(lines[1].split(',')[1:2] == ['PAYOUT'] and x['settlement_id'] in lines[1],
              f'the bill\'s PAYOUT row: {lines[1]}')
        # the merchant's account at the bank (docs/bank.md, "Sandbox administration")
        st, p, _ = Browser().open(
            'GET', f'{self.bank}/admin/movements?account={self.args.settle_account}')
        expect_eq((st, p.data_page), (200, 'admin-movements'), 'the bank\'s movements page')
        expect_eq(Decimal(p.ids.get('balance', {}).get('data-amount', 'NaN')), due,
                  'the merchant\'s bank account holds the payout')
        self.step(f'settlement: the other merchant\'s {due} (300.00 by bank, 20.00 refunded, '
                  f'fee) paid out on {business_date} 10:00 Beijing time into its bank account; '
                  f'its balance 0.00, its bill says PAYOUT')
        self.settlement_uncovered(business_date, tea_before)

    def settlement_uncovered(self, business_date, before):
        """tea's payout is more than the platform's books hold at the bank, though the bank
        holds more: refused before it is sent (failed, the money back), never left pending."""
        deadline = time.monotonic() + WAIT_S
        while True:
            ours = expect_answer(self.api.get('/v1/settlements'), 200)['settlements']
            if ours and all(x['status'] != 'pending' for x in ours):
                break
            check(time.monotonic() < deadline, f'tea\'s payouts still pending: {ours}')
            time.sleep(0.1)
        last = [x for x in ours if x['business_date'] == business_date]
        expect_eq(len(last), 1, f'tea\'s payout of {business_date}')
        x = last[0]
        expect_eq((x['status'], x['amount']), ('failed', before['available']),
                  'a payout the books cannot cover')
        check('reserve at icbc' in x.get('failure', ''), f'the failure says why: {x}')
        for y in ours:
            expect_eq(y['status'], 'failed', 'every payout of tea\'s wallet money')
        self.check_balance('after the refused payout: the money is back')
        a = self.api.get(f'/v1/bills?date={business_date}&type=settlement')
        rows = [ln.split(',') for ln in a.body.decode('utf-8').split('\r\n')[1:-2]]
        expect_eq(sorted((r[1], r[5]) for r in rows),
                  sorted([('PAYOUT', f'-{x["amount"]["value"]}'),
                          ('PAYOUT_RETURNED', x['amount']['value'])]), 'the refused payout\'s bill')
        st, p, _ = Browser().open(
            'GET', f'{self.bank}/admin/movements?account={self.args.tea_account}')
        expect_eq(Decimal(p.ids.get('balance', {}).get('data-amount', 'NaN')), Decimal(0),
                  'nothing reached tea\'s bank account')
        self.step(f'settlement: tea\'s {x["amount"]["value"]} (wallet money beyond the books of '
                  f'the reserve) refused before it was sent: failed, the money back, nothing paid')

    def clock(self):
        status, _, data, _ = raw_request(self.base, 'GET', '/sandbox/clock')
        expect_eq(status, 200, 'GET /sandbox/clock')
        return json.loads(data)

    def wait_trade_of(self, api, trade_id, state):
        deadline = time.monotonic() + WAIT_S
        while True:
            t = expect_answer(api.get(f'/v1/trades/{trade_id}'), 200)
            if t['state'] == state:
                return t
            check(time.monotonic() < deadline, f'{trade_id} not {state}: {t}')
            time.sleep(0.1)

    def bill_days(self):
        """The days (Beijing time, platform.md) from the first trade to the test clock's now."""
        now_ms = self.clock()['now_ms']
        first = json.loads(self._first_create_body[next(iter(self._first_create_body))])
        start = iso_ms(first['created_at']) / 1000
        days = []
        t = start - 86400
        while t <= now_ms / 1000 + 86400:
            day = time.strftime('%Y-%m-%d', time.gmtime(t + 8 * 3600))
            if day not in days:
                days.append(day)
            t += 3600
        return days

    def run(self):
        selftest()
        self.step('the test vectors of docs/protocol.md, byte for byte')
        self.pin_key()
        self.trade_page()
        self.trade_close()
        self.trade_qr()
        self.trade_mobile_page()
        self.trade_bank()
        self.bank_direct()
        self.trade_agreement()
        self.concurrent_replays()
        self.forged_notification()
        self.notify_retry()
        self.trade_expired()
        self.trade_escrow()
        self.errors_signature()
        self.errors_fields()
        self.errors_lookup()
        self.money_checks()
        self.settlement()
        check(not getattr(self, 'mismatches', 0), f'{getattr(self, "mismatches", 0)} mismatches')
        check(not self.notes.problems, f'refused notifications: {self.notes.problems}')
        dups = [r for r in self.notes.received if r.get('duplicate')]
        check(not dups, f'a notification delivered again after success: {dups}')
        print(f'merchant client: {self.steps} checks passed, {self.api.calls + self.other.calls} '
              f'signed answers verified, {len(self.notes.received)} notifications verified')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    k = sub.add_parser('keygen')
    k.add_argument('file')
    k.add_argument('--rsa', action='store_true')
    sub.add_parser('selftest')
    r = sub.add_parser('run')
    for name in ('platform', 'bank', 'merchant', 'key', 'other-merchant', 'other-key',
                 'consumer', 'password', 'pay-password', 'settle-account', 'tea-account',
                 'bank-merchant-dir'):
        r.add_argument('--' + name, required=True)
    args = ap.parse_args()
    try:
        if args.cmd == 'keygen':
            keygen(args.file, args.rsa)
        elif args.cmd == 'selftest':
            selftest()
            print('selftest: the vectors of docs/protocol.md match')
        else:
            Run(args).run()
    except Failure as e:
        print(f'FAIL: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
