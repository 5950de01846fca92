// An agent run driven with the plain `ws` package (PROTOCOL.md "Agent
// runs"): created over REST, its control WebSocket opened with the bearer
// header, the write approval answered with user_reply, done at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startServer } from './lib/server.mjs';

let server, workspace;

before(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'aic-workspace-'));
  writeFileSync(join(workspace, 'README.md'), '# Interop\n\nA workspace for the ws agent test.\n');
  server = await startServer(['--demo-delay', '1', '--workspace', workspace]);
});
after(async () => {
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

test('ws drives a run: list, read, the write approved over the socket, done', async () => {
  const created = await fetch(server.url + '/api/runs', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + server.token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ goal: 'Write notes about this project', workspace }),
  });
  assert.equal(created.status, 201);
  const run = await created.json();
  assert.match(run.run_id, /^r-/);
  assert.equal(run.ws_url, `/ws/runs/${run.run_id}`);

  const messages = [];
  const done = await new Promise((resolve, reject) => {
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + run.ws_url,
                             { headers: { Authorization: 'Bearer ' + server.token } });
    const timer = setTimeout(() => reject(new Error('no done; got ' + messages.map(m => m.type).join(', '))), 30000);
    ws.on('message', data => {
      const message = JSON.parse(data.toString());
      messages.push(message);
      if (message.type === 'need_input') {
        assert.equal(message.kind, 'approval');
        ws.send(JSON.stringify({ type: 'user_reply', resume_token: message.resume_token, text: 'yes',
                                 decision: 'allow_once' }));
      } else if (message.type === 'done') {
        clearTimeout(timer);
        ws.close();
        resolve(message);
      }
    });
    ws.on('unexpected-response', (request, response) => reject(new Error('upgrade refused: ' + response.statusCode)));
    ws.on('error', reject);
  });

  assert.equal(done.state, 'completed');
  const types = messages.map(message => message.type);
  assert.equal(types[0], 'status');
  assert.equal(messages[0].state, 'connected');

  // The demo's plan: list the workspace, read README, write NOTES.md (asked).
  const calls = messages.filter(message => message.type === 'tool_call').map(message => message.name);
  assert.ok(calls.length >= 3, calls.join(', '));
  const approvals = messages.filter(message => message.type === 'need_input');
  assert.equal(approvals.length, 1);
  assert.equal(approvals[0].risk, 'write');
  assert.match(JSON.stringify(approvals[0].tool), /NOTES\.md/);
  assert.ok(types.indexOf('need_input') < types.lastIndexOf('tool_result'));
  assert.ok(messages.filter(message => message.type === 'tool_result').length >= 3);

  // Sequence numbers order the control messages.
  const seqs = messages.filter(message => message.seq !== undefined).map(message => message.seq);
  assert.ok(seqs.length > 0);
  for (let i = 1; i < seqs.length; i++)
    assert.ok(seqs[i] > seqs[i - 1]);

  assert.ok(existsSync(join(workspace, 'NOTES.md')), 'the approved write happened');
  assert.ok(readFileSync(join(workspace, 'NOTES.md'), 'utf8').length > 0);
});

test('a control socket without the token is refused before the upgrade', async () => {
  const status = await new Promise((resolve, reject) => {
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/ws/runs/r-nothing');
    ws.on('unexpected-response', (request, response) => { resolve(response.statusCode); request.destroy(); });
    ws.on('open', () => reject(new Error('opened without a token')));
    ws.on('error', reject);
  });
  assert.equal(status, 401);
});
