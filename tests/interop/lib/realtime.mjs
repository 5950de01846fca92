// Helpers for the Realtime tests: a self-signed certificate made with
// openssl, speech made with eSpeak NG as 24 kHz mono PCM16, and a client
// that records every event it gets.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeCertificate () {
  const dir = mkdtempSync(join(tmpdir(), 'aic-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                           '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
                           '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
               { stdio: 'ignore' });
  return { dir, cert, key, pem: readFileSync(cert, 'utf8') };
}

// The samples of a PCM16 WAV, resampled linearly to 24 kHz mono.
function wavTo24k (buffer) {
  let offset = 12, rate = 0, channels = 1, data = null;
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('ascii', offset, offset + 4);
    const size = buffer.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      channels = buffer.readUInt16LE(offset + 10);
      rate = buffer.readUInt32LE(offset + 12);
    } else if (id === 'data') {
      data = buffer.subarray(offset + 8, offset + 8 + Math.min(size, buffer.length - offset - 8));
    }
    offset += 8 + size + (size & 1);
  }
  if (!rate || !data)
    throw new Error('not a PCM WAV');
  const frames = Math.floor(data.length / 2 / channels);
  const input = new Int16Array(frames);
  for (let i = 0; i < frames; i++)
    input[i] = data.readInt16LE(i * 2 * channels);
  const outFrames = Math.floor(frames * 24000 / rate);
  const output = Buffer.alloc(outFrames * 2);
  for (let i = 0; i < outFrames; i++) {
    const position = i * rate / 24000;
    const j = Math.floor(position);
    const a = input[Math.min(j, frames - 1)], b = input[Math.min(j + 1, frames - 1)];
    output.writeInt16LE(Math.round(a + (b - a) * (position - j)), i * 2);
  }
  return output;
}

export function speech (text) {
  const dir = mkdtempSync(join(tmpdir(), 'aic-speech-'));
  const file = join(dir, 'speech.wav');
  execFileSync('espeak-ng', ['-w', file, text]);
  return wavTo24k(readFileSync(file));
}

export function silence (ms) {
  return Buffer.alloc(24 * 2 * ms);
}

// Sends @pcm in 100 ms appends.
export function appendAudio (rt, pcm) {
  const chunk = 24 * 2 * 100;
  for (let offset = 0; offset < pcm.length; offset += chunk)
    rt.send({ type: 'input_audio_buffer.append', audio: pcm.subarray(offset, offset + chunk).toString('base64') });
}

// Records every event of @rt; until() waits for one matching a test.
export function record (rt) {
  const events = [];
  const waiters = [];
  rt.on('event', event => {
    events.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.test(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        clearTimeout(waiter.timer);
        waiter.resolve(event);
      }
    }
  });
  // Error events are recorded too; the SDK wants a listener for them.
  rt.on('error', () => {});
  return {
    events,
    types: () => events.map(event => event.type),
    until (test, timeout = 20000) {
      if (typeof test === 'string') {
        const type = test;
        test = event => event.type === type;
      }
      const seen = events.find(test);
      if (seen)
        return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { test, resolve };
        waiter.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error('timed out waiting; got ' + events.map(e => e.type).join(', ')));
        }, timeout);
        waiters.push(waiter);
      });
    },
  };
}

// The first occurrence of each of @expected comes in that order.
export function firstIndices (types, expected) {
  return expected.map(type => types.indexOf(type));
}
