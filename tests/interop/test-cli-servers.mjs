// The CLI (AIC_TEST_CLI) against servers written the way tutorials write
// them, in this process on 127.0.0.1: a better-sse session, express routes
// that speak OpenAI-compatible chat chunks or cut their body short, and a
// ws WebSocketServer speaking a minimal Realtime session for voice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createSession } from 'better-sse';
import { WebSocketServer } from 'ws';

const CLI = process.env.AIC_TEST_CLI;
let server;
let base;
let dir;

// Runs the CLI without blocking this process's event loop, which serves it.
function cli (args, { timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.AI_CONSOLE_TOKEN;
    const child = spawn(CLI, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', chunk => { stdout += chunk; });
    child.stderr.on('data', chunk => { stderr += chunk; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('CLI timed out: ' + stderr)); }, timeout);
    child.on('error', reject);
    child.on('close', status => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

// One second of a 440 Hz tone, PCM16 mono 24 kHz, as a WAV file.
function sineWav (path) {
  const rate = 24000;
  const samples = rate;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++)
    data.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / rate)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);          // PCM
  header.writeUInt16LE(1, 22);          // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

const chunk = content => 'data: ' + JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'tutorial',
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
}) + '\n\n';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aic-cli-servers-'));
  const app = express();
  app.use(express.json());

  // better-sse, as its README shows it: a session per request, events
  // pushed with a name and an id, and a retry hint.
  app.get('/sse', async (req, res) => {
    const session = await createSession(req, res, { retry: 250, keepAlive: null });
    session.push({ n: 1, text: 'first' }, 'tick', '1');
    session.push({ n: 2, text: 'second' }, 'tick', '2');
    session.push('plain text', 'note', '3');
    res.end();
  });

  // OpenAI-compatible chat completions, written chunk by chunk.
  app.post('/v1/chat/completions', (req, res) => {
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    const prompt = req.body.messages.at(-1).content;
    const smile = '\u{1F600}';
    // A mock server that cuts its reply by UTF-16 code units: the two
    // halves of the emoji go out in two chunks, each escaped by
    // JSON.stringify as a lone surrogate.
    const pieces = prompt === 'split'
      ? ['Smile ' + smile.slice(0, 1), smile.slice(1) + ' done']
      : ['Hello', ', ', 'world'];
    for (const piece of pieces)
      res.write(chunk(piece));
    res.write('data: ' + JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + '\n\n');
    res.write('data: [DONE]\n\n');
    res.end();
  });

  // A body cut short: written, then the socket destroyed with no last chunk.
  app.get('/cut', (req, res) => {
    res.setHeader('Content-Type', 'text/event-stream');
    res.write('data: before the cut\n\n');
    setTimeout(() => res.socket.destroy(), 100);
  });

  server = await new Promise(resolve => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });

  // A minimal Realtime session on the same server.
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path !== '/api/voice' && path !== '/v1/realtime') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, ws => wss.emit('connection', ws, req));
  });
  wss.on('connection', ws => {
    let appended = 0;
    let answered = false;
    const send = event => ws.send(JSON.stringify(event));
    send({ type: 'session.created', session: { id: 'sess_1', type: 'realtime' } });
    ws.on('message', raw => {
      const event = JSON.parse(raw.toString());
      if (event.type === 'input_audio_buffer.append')
        appended += Buffer.from(event.audio, 'base64').length;
      else if (event.type === 'input_audio_buffer.commit' && !answered) {
        answered = true;
        send({ type: 'input_audio_buffer.committed', item_id: 'item_in' });
        send({ type: 'response.created', response: { id: 'resp_1' } });
        // 100 ms of a quieter tone as the reply's audio.
        const pcm = Buffer.alloc(4800);
        for (let i = 0; i < 2400; i++)
          pcm.writeInt16LE(Math.round(3000 * Math.sin(2 * Math.PI * 220 * i / 24000)), i * 2);
        send({ type: 'response.output_audio.delta', response_id: 'resp_1', item_id: 'item_out', delta: pcm.toString('base64') });
        send({ type: 'response.output_audio_transcript.delta', response_id: 'resp_1', item_id: 'item_out', delta: 'I heard ' });
        send({ type: 'response.output_audio_transcript.delta', response_id: 'resp_1', item_id: 'item_out', delta: `${appended > 0 ? 'you' : 'nothing'}.` });
        send({ type: 'response.output_audio.done', response_id: 'resp_1', item_id: 'item_out' });
        send({ type: 'response.done', response: { id: 'resp_1', status: 'completed' } });
      }
    });
  });
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise(resolve => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('sse prints a better-sse session’s events with their names and ids', async () => {
  const result = await cli(['sse', base + '/sse']);
  assert.equal(result.status, 0, result.stderr);
  const events = result.stdout.trim().split('\n').map(line => JSON.parse(line));
  assert.deepEqual(events, [
    { event: 'tick', data: JSON.stringify({ n: 1, text: 'first' }), id: '1' },
    { event: 'tick', data: JSON.stringify({ n: 2, text: 'second' }), id: '2' },
    { event: 'note', data: JSON.stringify('plain text'), id: '3' },
  ]);
});

test('chat prints an OpenAI-compatible stream from express', async () => {
  const result = await cli(['chat', '--kind', 'openai', '--url', base + '/v1', '-m', 'tutorial', '-q', 'Hi']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'Hello, world\n');
});

test('chat joins a surrogate pair cut between two chunks', async () => {
  const result = await cli(['chat', '--kind', 'openai', '--url', base + '/v1', '-m', 'tutorial', '-q', 'split']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'Smile \u{1F600} done\n');
});

test('sse exits non-zero on a body cut short, and says so', async () => {
  const result = await cli(['sse', base + '/cut']);
  assert.notEqual(result.status, 0);
  assert.deepEqual(JSON.parse(result.stdout.trim()), { event: 'message', data: 'before the cut', id: '' });
  assert.match(result.stderr, /closed the connection/);
});

test('voice holds a push-to-talk turn with a ws Realtime server', async () => {
  const input = join(dir, 'in.wav');
  const output = join(dir, 'out.wav');
  sineWav(input);
  const result = await cli(['voice', '--url', base, '--input', input, '--output', output,
                            '--push-to-talk', '--fast']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^assistant: I heard you\.$/m);
  const wav = readFileSync(output);
  assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
  assert.ok(statSync(output).size >= 44 + 4800, `reply audio written (${statSync(output).size} bytes)`);
});
