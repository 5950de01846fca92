// OpenAI's own SDK (GA and beta Realtime WebSocket clients) against our
// voice session at /v1/realtime, over TLS with a self-signed certificate,
// exactly as an application would open it: baseURL ending in /v1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import tls from 'node:tls';
import { rmSync } from 'node:fs';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { OpenAIRealtimeWS as BetaRealtimeWS } from 'openai/beta/realtime/ws';
import { WebSocket } from 'ws';
import { startServer } from './lib/server.mjs';
import { appendAudio, firstIndices, makeCertificate, record, silence, speech } from './lib/realtime.mjs';

let certificate, server, plain, hello;

before(async () => {
  certificate = makeCertificate();
  hello = speech('Hello there. What is the weather like today?');
  server = await startServer(['--demo-delay', '1', '--tls-cert', certificate.cert, '--tls-key', certificate.key]);
  plain = await startServer(['--demo-delay', '1']);
});
after(async () => {
  await server?.stop();
  await plain?.stop();
  rmSync(certificate.dir, { recursive: true, force: true });
});

function open (Client) {
  const client = new OpenAI({ apiKey: server.token, baseURL: server.url + '/v1' });
  const rt = new Client({ model: 'gpt-realtime', options: { ca: certificate.pem } }, client);
  const log = record(rt);
  return { rt, log };
}

function close (rt) {
  rt.close();
}

// What the SDK's types name for one audio turn and its spoken reply, GA.
const GA_TURN = [
  'input_audio_buffer.committed',
  'conversation.item.added',
  'conversation.item.done',
  'conversation.item.input_audio_transcription.completed',
  'response.created',
  'response.output_item.added',
  'response.content_part.added',
  'response.output_audio_transcript.delta',
  'response.output_audio.delta',
  'response.output_audio.done',
  'response.output_audio_transcript.done',
  'response.content_part.done',
  'response.output_item.done',
  'response.done',
];

function assertOrdered (types, expected) {
  const indices = firstIndices(types, expected);
  expected.forEach((type, i) => assert.ok(indices[i] >= 0, `${type} arrived: ${types.join(', ')}`));
  for (let i = 1; i < indices.length; i++)
    assert.ok(indices[i - 1] < indices[i], `${expected[i - 1]} before ${expected[i]}: ${types.join(', ')}`);
}

function assertEventIds (events) {
  const ids = events.map(event => event.event_id);
  assert.ok(ids.every(id => typeof id === 'string' && id.length > 0), 'every event has an event_id');
  assert.equal(new Set(ids).size, ids.length, 'event ids are unique');
}

// The reply's deltas lie between its part's added and done, and add up
// to the transcript done, the item done and response.done report.
function assertReply (events, names) {
  const types = events.map(event => event.type);
  const added = types.indexOf('response.content_part.added');
  const done = types.indexOf('response.content_part.done');
  const deltas = events.filter(event => event.type === names.transcriptDelta);
  assert.ok(deltas.length > 0);
  assert.ok(events.some(event => event.type === names.audioDelta && event.delta.length > 0));
  for (const type of [names.transcriptDelta, names.audioDelta]) {
    const first = types.indexOf(type), last = types.lastIndexOf(type);
    assert.ok(added < first && last < done, `${type} inside the content part`);
  }
  const transcript = deltas.map(event => event.delta).join('');
  assert.equal(events.find(event => event.type === names.transcriptDone).transcript, transcript);
  const response = events.find(event => event.type === 'response.done').response;
  assert.equal(response.status, 'completed');
  assert.equal(response.object, 'realtime.response');
  assert.equal(response.output.length, 1);
  assert.equal(response.output[0].role, 'assistant');
  assert.equal(response.output[0].status, 'completed');
  assert.equal(response.output[0].content[0].transcript, transcript);
  assert.ok(response.usage.total_tokens > 0);
  assert.equal(response.usage.total_tokens, response.usage.input_tokens + response.usage.output_tokens);
  const item = response.output[0].id;
  for (const event of events.filter(event => event.type.startsWith('response.output_') || event.type.startsWith('response.audio')))
    assert.equal(event.item_id ?? event.item.id, item);
  return transcript;
}

test('GA client, server VAD: a spoken turn gets every event of the turn, in order', async () => {
  const { rt, log } = open(OpenAIRealtimeWS);
  try {
    const created = await log.until('session.created');
    assert.equal(created.session.type, 'realtime');
    rt.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        instructions: 'Be brief.',
        audio: {
          input: { format: { type: 'audio/pcm', rate: 24000 },
                   turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 400 } },
          output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' },
        },
      },
    });
    const updated = await log.until('session.updated');
    assert.equal(updated.session.instructions, 'Be brief.');
    assert.equal(updated.session.audio.input.turn_detection.type, 'server_vad');
    assert.equal(updated.session.audio.input.turn_detection.silence_duration_ms, 400);
    assert.equal(updated.session.audio.output.voice, 'marin');

    appendAudio(rt, Buffer.concat([silence(300), hello, silence(1000)]));
    await log.until('response.done');
    const types = log.types();
    assertOrdered(types, ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', ...GA_TURN]);
    // The reply's item is added to the conversation after the output item.
    const replyAdded = log.events.findLast(event => event.type === 'conversation.item.added');
    assert.equal(replyAdded.item.role, 'assistant');
    assert.ok(types.lastIndexOf('conversation.item.done') > types.indexOf('response.output_item.done'));
    assert.ok(!types.includes('response.audio.delta'), 'no beta names');

    const started = log.events.find(event => event.type === 'input_audio_buffer.speech_started');
    const committed = log.events.find(event => event.type === 'input_audio_buffer.committed');
    assert.equal(committed.item_id, started.item_id);
    const user = log.events.find(event => event.type === 'conversation.item.added');
    assert.equal(user.item.id, committed.item_id);
    assert.equal(user.item.role, 'user');
    assert.equal(user.item.content[0].type, 'input_audio');
    const heard = log.events.find(event => event.type === 'conversation.item.input_audio_transcription.completed');
    assert.match(heard.transcript, /no speech-to-text configured/);
    assertReply(log.events, {
      transcriptDelta: 'response.output_audio_transcript.delta',
      audioDelta: 'response.output_audio.delta',
      transcriptDone: 'response.output_audio_transcript.done',
    });
    assertEventIds(log.events);
  } finally {
    close(rt);
  }
});

test('beta client, push-to-talk: turn_detection null, beta event names, committed at commit', async () => {
  const { rt, log } = open(BetaRealtimeWS);
  try {
    await log.until('session.created');
    rt.send({
      type: 'session.update',
      session: { modalities: ['audio', 'text'], voice: 'alloy', input_audio_format: 'pcm16',
                 output_audio_format: 'pcm16', turn_detection: null },
    });
    const updated = await log.until('session.updated');
    assert.equal(updated.session.turn_detection, null);
    assert.equal(updated.session.voice, 'alloy');
    assert.equal(updated.session.type, undefined);

    // Speech with pauses in it: with push-to-talk, no VAD ends the turn.
    appendAudio(rt, Buffer.concat([hello, silence(1200), hello]));
    await new Promise(resolve => setTimeout(resolve, 300));
    assert.ok(!log.types().includes('input_audio_buffer.speech_started'));
    rt.send({ type: 'input_audio_buffer.commit' });
    const committed = await log.until('input_audio_buffer.committed');
    const item = await log.until('conversation.item.created');
    assert.equal(item.item.id, committed.item_id);
    assert.ok(!log.types().includes('response.created'), 'no reply before response.create');

    rt.send({ type: 'response.create' });
    await log.until('response.done');
    const types = log.types();
    assertOrdered(types, [
      'input_audio_buffer.committed', 'conversation.item.created',
      'conversation.item.input_audio_transcription.completed', 'response.created', 'response.output_item.added',
      'response.content_part.added', 'response.audio_transcript.delta', 'response.audio.delta',
      'response.audio.done', 'response.audio_transcript.done', 'response.content_part.done',
      'response.output_item.done', 'response.done',
    ]);
    for (const ga of ['response.output_audio.delta', 'response.output_audio_transcript.delta', 'conversation.item.added',
                      'conversation.item.done', 'input_audio_buffer.commit_empty'])
      assert.ok(!types.includes(ga), `no ${ga}`);
    assert.ok(!log.events.some(event => event.type === 'error'), 'no errors');
    const heard = log.events.find(event => event.type === 'conversation.item.input_audio_transcription.completed');
    assert.match(heard.transcript, /^speech, [4-9]\.\d s/);
    const transcript = assertReply(log.events, {
      transcriptDelta: 'response.audio_transcript.delta',
      audioDelta: 'response.audio.delta',
      transcriptDone: 'response.audio_transcript.done',
    });
    assert.match(transcript, /demo engine/);
    assertEventIds(log.events);
  } finally {
    close(rt);
  }
});

test('GA client: a text turn, then cancel and truncate while the reply is spoken', async () => {
  const { rt, log } = open(OpenAIRealtimeWS);
  try {
    await log.until('session.created');
    rt.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } });
    await log.until('session.updated');
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Tell me a story.' }] },
    });
    const added = await log.until('conversation.item.added');
    assert.equal(added.item.content[0].type, 'input_text');
    assert.equal(added.item.content[0].text, 'Tell me a story.');
    await log.until('conversation.item.done');

    rt.send({ type: 'response.create' });
    const audio = await log.until('response.output_audio.delta');
    rt.send({ type: 'response.cancel' });
    rt.send({ type: 'conversation.item.truncate', item_id: audio.item_id, content_index: 0, audio_end_ms: 40 });
    const done = await log.until('response.done');
    assert.equal(done.response.status, 'cancelled');
    assert.equal(done.response.status_details.type, 'cancelled');
    assert.equal(done.response.output[0].status, 'incomplete');
    const truncated = await log.until('conversation.item.truncated');
    assert.deepEqual([truncated.item_id, truncated.content_index, truncated.audio_end_ms], [audio.item_id, 0, 40]);
    // The part and item opened for the reply are closed before response.done.
    assertOrdered(log.types(), ['response.created', 'response.output_item.added', 'response.content_part.added',
                                'response.output_audio.delta', 'response.content_part.done',
                                'response.output_item.done', 'response.done']);
    const transcript = log.events.filter(event => event.type === 'response.output_audio_transcript.delta')
      .map(event => event.delta).join('');
    assert.match(transcript, /You said: “Tell me a story\.”|demo engine/);

    // Nothing in flight now.
    rt.send({ type: 'response.cancel' });
    const error = await log.until('error');
    assert.equal(error.error.code, 'response_cancel_not_active');
    assertEventIds(log.events);
  } finally {
    close(rt);
  }
});

test('GA client: input_audio_buffer.clear is answered, bad base64 is an error, text-only replies', async () => {
  const { rt, log } = open(OpenAIRealtimeWS);
  try {
    await log.until('session.created');
    rt.send({ type: 'input_audio_buffer.append', audio: 'not base64!' });
    const error = await log.until('error');
    assert.equal(error.error.code, 'invalid_base64');
    rt.send({ type: 'input_audio_buffer.clear' });
    await log.until('input_audio_buffer.cleared');

    rt.send({ type: 'conversation.item.create',
              item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] } });
    rt.send({ type: 'response.create', response: { output_modalities: ['text'] } });
    const done = await log.until('response.done');
    const types = log.types();
    assertOrdered(types, ['response.created', 'response.output_item.added', 'response.content_part.added',
                          'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
                          'response.output_item.done', 'response.done']);
    assert.ok(!types.includes('response.output_audio.delta'));
    const text = log.events.filter(event => event.type === 'response.output_text.delta').map(event => event.delta).join('');
    assert.match(text, /You said: “Hi”/);
    assert.equal(done.response.output[0].content[0].type, 'output_text');
    assert.equal(done.response.output[0].content[0].text, text);
  } finally {
    close(rt);
  }
});

test('the browser form of the key: subprotocols realtime and openai-insecure-api-key', async () => {
  const url = server.url.replace(/^https/, 'wss') + '/realtime?model=gpt-realtime';
  const connect = key => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['realtime', 'openai-insecure-api-key.' + key], { ca: certificate.pem });
    ws.on('open', () => { resolve({ protocol: ws.protocol }); ws.close(); });
    ws.on('unexpected-response', (request, response) => { resolve({ status: response.statusCode }); request.destroy(); });
    ws.on('error', reject);
  });
  assert.deepEqual(await connect(server.token), { protocol: 'realtime' });
  assert.deepEqual(await connect('wrong'), { status: 401 });
});

test('TLS to a plain port, and plain HTTP to a TLS port, fail at once', async () => {
  const port = Number(new URL(plain.url).port);
  const started = Date.now();
  await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.on('secureConnect', () => reject(new Error('a TLS handshake with a plain port succeeded')));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
  assert.ok(Date.now() - started < 3000, `failed after ${Date.now() - started} ms`);

  const answer = await new Promise((resolve, reject) => {
    const request = http.get(server.url.replace(/^https/, 'http') + '/api/health', response => {
      let body = '';
      response.on('data', chunk => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body: JSON.parse(body) }));
    });
    request.on('error', reject);
  });
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error.code, 'tls_required');
});
