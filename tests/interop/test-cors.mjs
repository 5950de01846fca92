// A browser's view of --allow-origin: the preflight it sends without a
// token, then the request itself, with the headers fetch() lets a page read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

const ALLOWED = 'https://console.example';
let server;

before(async () => {
  server = await startServer(['--allow-origin', ALLOWED, '--demo-delay', '1']);
});
after(async () => { await server.stop(); });

test('a preflight from an allowed origin is answered without a token', async () => {
  const response = await fetch(server.url + '/api/chat/stream', {
    method: 'OPTIONS',
    headers: {
      Origin: ALLOWED,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization, content-type, last-event-id',
    },
  });
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('access-control-allow-origin'), ALLOWED);
  assert.match(response.headers.get('access-control-allow-methods'), /\bPOST\b/);
  const allowed = response.headers.get('access-control-allow-headers').toLowerCase();
  for (const name of ['authorization', 'content-type', 'last-event-id'])
    assert.ok(allowed.includes(name), `${name} is allowed`);
  assert.match(response.headers.get('vary') ?? '', /Origin/);
});

test('the request itself carries the CORS headers a page needs', async () => {
  const response = await fetch(server.url + '/api/chat/stream', {
    method: 'POST',
    headers: {
      Origin: ALLOWED,
      Authorization: 'Bearer ' + server.token,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('access-control-allow-origin'), ALLOWED);
  const exposed = response.headers.get('access-control-expose-headers');
  for (const name of ['Location', 'ETag', 'Retry-After'])
    assert.ok(exposed.includes(name), `${name} is exposed`);
  const text = await response.text();
  assert.match(text, /event: done|"done"/);
});

test('a refusal for a missing token is readable by the page', async () => {
  const response = await fetch(server.url + '/api/health', { headers: { Origin: ALLOWED } });
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('access-control-allow-origin'), ALLOWED);
});

test('other origins get 403 and no CORS header, preflight or not', async () => {
  for (const method of ['OPTIONS', 'GET']) {
    const response = await fetch(server.url + '/api/health', {
      method,
      headers: {
        Origin: 'https://evil.example',
        'Access-Control-Request-Method': 'GET',
        Authorization: 'Bearer ' + server.token,
      },
    });
    assert.equal(response.status, 403, method);
    assert.equal(response.headers.get('access-control-allow-origin'), null, method);
    await response.arrayBuffer();
  }
});
